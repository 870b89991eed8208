// The venv a pip-installed asgid finds from its own path (docs/wheel.md), and where that
// default stands among the sources.
#include "config/executable_venv.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/config_report.h"
#include "tests/unit/config/load_fixture.h"

namespace asgid::config {
namespace {

namespace fs = std::filesystem;

class ExecutableVenvTest : public LoadFixture {
 protected:
  // <dir_>/<name>/bin/asgid, with pyvenv.cfg beside bin/ when `venv`.
  std::string makeInstall(const std::string& name, bool venv = true) {
    fs::path root = fs::path(dir_) / name;
    fs::create_directories(root / "bin");
    std::ofstream(root / "bin" / "asgid") << "";
    if (venv) std::ofstream(root / "pyvenv.cfg") << "home = /usr/bin\n";
    return root.string();
  }

  // load() as `<argv0> main:app ARGS...`, with env_ as the environment.
  LoadResult loadAs(const std::string& argv0, std::vector<std::string> args) {
    std::vector<const char*> argv = {argv0.c_str(), "main:app"};
    for (const std::string& arg : args) argv.push_back(arg.c_str());
    EnvLookup env = [this](const std::string& name) -> std::optional<std::string> {
      auto found = env_.find(name);
      if (found == env_.end()) return std::nullopt;
      return found->second;
    };
    std::ostringstream out;
    return load(static_cast<int>(argv.size()), argv.data(), env, out);
  }
};

TEST_F(ExecutableVenvTest, BinaryInAVenvsBinNamesTheVenv) {
  std::string venv = makeInstall("venv");
  EXPECT_EQ(venvHolding(venv + "/bin/asgid"), venv);
  EXPECT_EQ(venvHolding(venv + "/bin/../bin/./asgid"), venv);
}

TEST_F(ExecutableVenvTest, NoPyvenvCfgNoVenv) {
  std::string plain = makeInstall("usr", false);
  EXPECT_EQ(venvHolding(plain + "/bin/asgid"), "");
  // A directory called pyvenv.cfg is not a venv's marker.
  fs::create_directory(plain + "/pyvenv.cfg");
  EXPECT_EQ(venvHolding(plain + "/bin/asgid"), "");
}

TEST_F(ExecutableVenvTest, OnlyTheBinDirectoryCounts) {
  std::string venv = makeInstall("venv");
  fs::create_directories(venv + "/sbin");
  EXPECT_EQ(venvHolding(venv + "/sbin/asgid"), "");
  EXPECT_EQ(venvHolding(venv + "/asgid"), "");
  EXPECT_EQ(venvHolding("/asgid"), "");
}

TEST_F(ExecutableVenvTest, ASymlinkedVenvKeepsTheNameItWasReachedBy) {
  std::string venv = makeInstall("real-venv");
  fs::create_directory_symlink(venv, dir_ + "/.venv");
  EXPECT_EQ(venvHolding(dir_ + "/.venv/bin/asgid"), dir_ + "/.venv");
  EXPECT_EQ(ownVenv(dir_ + "/.venv/bin/asgid"), dir_ + "/.venv");
}

TEST_F(ExecutableVenvTest, ABareNameFallsBackToTheRunningBinary) {
  // This test binary is not in a venv's bin/: neither "asgid" (looked up through
  // /proc/self/exe) nor a path outside any venv finds one.
  EXPECT_EQ(ownVenv("asgid"), "");
  EXPECT_EQ(ownVenv(makeInstall("usr", false) + "/bin/asgid"), "");
  EXPECT_EQ(ownVenv(""), "");
}

TEST_F(ExecutableVenvTest, OwnVenvBeatsVirtualEnvAndLosesToEverySource) {
  std::string venv = makeInstall("venv");
  std::string binary = venv + "/bin/asgid";
  env_ = {{"VIRTUAL_ENV", "/srv/other"}};
  EXPECT_EQ(loadAs(binary, {}).settings.venv, venv);
  EXPECT_EQ(loadAs("asgid", {}).settings.venv, "/srv/other");
  EXPECT_EQ(loadAs(binary, {"--venv", "/opt/venv"}).settings.venv, "/opt/venv");
  EXPECT_EQ(loadAs(binary, {"--config", writeConfig("venv: /yaml/venv\n")}).settings.venv,
            "/yaml/venv");
  env_["ASGID_VENV"] = "/env/venv";
  EXPECT_EQ(loadAs(binary, {}).settings.venv, "/env/venv");
}

TEST_F(ExecutableVenvTest, PrintConfigNamesTheBinary) {
  std::string venv = makeInstall("venv");
  Settings settings = loadAs(venv + "/bin/asgid", {}).settings;
  EXPECT_NE(
      printConfig(settings).find("venv: " + venv + "  # the venv of " + venv + "/bin/asgid\n"),
      std::string::npos)
      << printConfig(settings);
}

}  // namespace
}  // namespace asgid::config
