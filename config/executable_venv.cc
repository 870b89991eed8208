#include "config/executable_venv.h"

#include <map>
#include <mutex>
#include <system_error>

namespace asgid::config {
namespace {

namespace fs = std::filesystem;

// pyvenv.cfg is what makes a directory a venv for CPython itself (PEP 405).
bool isFile(const fs::path& path) {
  std::error_code error;
  return fs::is_regular_file(path, error);
}

// A venv and the path of the binary that led to it (for --print-config); empty if none.
struct Found {
  std::string venv;
  std::string executable;
};

Found lookUpOwnVenv(std::string_view argv0) {
  std::error_code error;
  if (argv0.find('/') != std::string_view::npos) {
    fs::path typed = fs::absolute(fs::path(argv0), error).lexically_normal();
    if (!error) {
      std::string venv = venvHolding(typed);
      if (!venv.empty()) return {venv, typed.string()};
    }
  }
  // The running file itself, symlinks resolved (after a pip upgrade replaced it, "asgid
  // (deleted)" in the same directory).
  fs::path real = fs::read_symlink("/proc/self/exe", error);
  if (error) return {};
  std::string venv = venvHolding(real);
  if (venv.empty()) return {};
  return {venv, real.string()};
}

// The first answer for an argv[0] holds for the life of the process: a reload re-reads the
// command line after the master's --chdir, where a relative argv[0] names another place.
Found findOwnVenv(std::string_view argv0) {
  static std::mutex mutex;
  static std::map<std::string, Found, std::less<>> answers;
  std::lock_guard lock(mutex);
  auto known = answers.find(argv0);
  if (known != answers.end()) return known->second;
  Found found = lookUpOwnVenv(argv0);
  answers.emplace(std::string(argv0), found);
  return found;
}

}  // namespace

std::string venvHolding(const fs::path& executable) {
  std::error_code error;
  fs::path absolute = fs::absolute(executable, error).lexically_normal();
  if (error) return {};
  fs::path bin = absolute.parent_path();
  if (bin.filename() != "bin") return {};
  fs::path venv = bin.parent_path();
  if (!isFile(venv / "pyvenv.cfg")) return {};
  return venv.string();
}

std::string ownVenv(std::string_view argv0) {
  return findOwnVenv(argv0).venv;
}

void applyOwnVenv(std::string_view argv0, Settings& settings) {
  Found found = findOwnVenv(argv0);
  if (found.venv.empty()) return;
  settings.venv = found.venv;
  settings.sources["venv"] = "the venv of " + found.executable;
}

}  // namespace asgid::config
