#include "config/config_report.h"

#include <errno.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>

#include "config/settings_table.h"
#include "config/value_parsers.h"

namespace asgid::config {
namespace {

// "is not readable by user nobody (permission denied)": names the user this process checks as
// (the target user once the master has dropped its privileges), so that a clone in a 0700
// home says who cannot read it. access() checks with the real ids, which the drop sets too.
std::string permissionDenied(const char* what = "is") {
  const passwd* user = getpwuid(geteuid());
  std::string text = std::string(what) + " not readable by user ";
  text += user != nullptr ? user->pw_name : std::to_string(geteuid());
  return text + " (permission denied)";
}

// Why the workers could not use `path` as a directory they read (import from, or look into):
// "" when they can. EACCES is told apart from a missing path: both fail stat().
std::string directoryProblem(const std::string& path) {
  struct stat info;
  if (stat(path.c_str(), &info) < 0) {
    return errno == EACCES ? permissionDenied() : "does not exist";
  }
  if (!S_ISDIR(info.st_mode)) return "is not a directory";
  if (access(path.c_str(), R_OK | X_OK) < 0) return permissionDenied();
  return "";
}

// The same for --venv, which must also hold a readable pyvenv.cfg.
std::string venvProblem(const std::string& path) {
  if (std::string problem = directoryProblem(path); !problem.empty()) return problem;
  std::string marker = path + "/pyvenv.cfg";
  struct stat info;
  if (stat(marker.c_str(), &info) < 0) {
    return errno == EACCES ? permissionDenied() : "is not a virtualenv (no pyvenv.cfg)";
  }
  if (!S_ISREG(info.st_mode)) return "is not a virtualenv (no pyvenv.cfg)";
  if (access(marker.c_str(), R_OK) < 0) return permissionDenied("has a pyvenv.cfg");
  return "";
}

// Where a worker will look for `path`: relative paths are taken after --chdir.
std::string underChdir(const Settings& settings, const std::string& path) {
  if (path.starts_with('/') || settings.chdir.empty()) return path;
  return settings.chdir + "/" + path;
}

// `shown`, the path as the message names it, and where to look for it from here.
struct CheckedPath {
  std::string shown;
  std::string here;
};

// After the move into --chdir, the absolute path, as the worker builds it (the parents count:
// a 0700 home stops a user from reaching a readable directory below it by its full name); it
// is also the clearest name for "." in a message.
CheckedPath locate(const Settings& settings, const std::string& path, PathBase base) {
  std::string shown = underChdir(settings, path);
  if (base == PathBase::kBeforeChdir || path.starts_with('/')) return {shown, shown};
  char cwd[4096];
  if (getcwd(cwd, sizeof cwd) == nullptr) return {shown, path};
  std::string absolute = path == "." ? std::string(cwd) : std::string(cwd) + "/" + path;
  return {absolute, absolute};
}

// Characters a plain scalar may hold anywhere; the first must also be alphanumeric, '.', '/'
// or '_' (a leading '-', '?', ':', '~', '&', '*', '!' and quotes mean something in YAML).
bool isPlainChar(char c) {
  static constexpr std::string_view kPunctuation = "._/-+@%:=,";
  return std::isalnum(static_cast<unsigned char>(c)) ||
         kPunctuation.find(c) != std::string_view::npos;
}

bool canBePlain(const std::string& text) {
  if (text.empty() || text.ends_with(':')) return false;
  char first = text.front();
  if (!std::isalnum(static_cast<unsigned char>(first)) && first != '.' && first != '/' &&
      first != '_') {
    return false;
  }
  for (char c : text) {
    if (!isPlainChar(c)) return false;
  }
  // Plain null would load as no value at all.
  return text != "null" && text != "Null" && text != "NULL";
}

std::string sourceOf(const Settings& settings, const std::string& name) {
  auto found = settings.sources.find(name);
  return found == settings.sources.end() ? "default" : found->second;
}

void printRow(const SettingSpec& spec, const Settings& settings, std::string& out) {
  const std::string source = "  # " + sourceOf(settings, spec.name) + "\n";
  if (spec.kind == SettingKind::kList) {
    std::vector<std::string> items = spec.items(settings);
    if (items.empty()) {
      out += spec.name + ": []" + source;
      return;
    }
    out += spec.name + ":" + source;
    for (const std::string& item : items) out += "  - " + yamlScalar(item) + "\n";
    return;
  }
  std::string value = spec.show(settings);
  if (value.empty() && value == spec.show(Settings{})) {
    out += "# " + spec.name + ": (not set)" + source;  // absent reads back as unset
    return;
  }
  out += spec.name + ": " + yamlScalar(value) + source;
}

}  // namespace

std::vector<std::string> notices(const Settings& settings) {
  std::vector<std::string> lines;
  for (const SettingSpec& spec : settingsTable()) {
    if (spec.notice.empty() || !settings.sources.contains(spec.name)) continue;
    // A default given explicitly (as --print-config's output does) asks for nothing.
    if (spec.show(settings) == spec.show(Settings{})) continue;
    lines.push_back(spec.flag + " (from " + settings.sources.at(spec.name) + "): " + spec.notice);
  }
  return lines;
}

std::vector<std::string> checkPaths(const Settings& settings, PathBase base) {
  std::vector<std::string> problems;
  auto add = [&](const char* flag, const std::string& shown, const std::string& problem) {
    if (!problem.empty())
      problems.push_back(std::string(flag) + ": " + quote(shown) + " " + problem);
  };
  if (!settings.chdir.empty()) {
    add("--chdir", settings.chdir, directoryProblem(locate(settings, ".", base).here));
  }
  CheckedPath app_dir = locate(settings, settings.app_dir.empty() ? "." : settings.app_dir, base);
  // The default "." is --chdir itself: named once.
  if (!settings.app_dir.empty() || settings.chdir.empty()) {
    add("--app-dir", app_dir.shown, directoryProblem(app_dir.here));
  }
  if (!settings.venv.empty()) {
    CheckedPath venv = locate(settings, settings.venv, base);
    add("--venv", venv.shown, venvProblem(venv.here));
  }
  return problems;
}

std::string printConfig(const Settings& settings) {
  std::string out =
      "# asgid " ASGID_VERSION
      ": the effective settings. Each comment says where the value came from: a\n"
      "# file:line, an environment variable, a flag, or the default. Load with --config.\n";
  for (const SettingSpec& spec : settingsTable()) {
    if (spec.alias_of.empty()) printRow(spec, settings, out);
  }
  if (!settings.app_environment.empty()) {
    out += "# " + settings.env_file + " gives the app:";
    for (const EnvVariable& variable : settings.app_environment) {
      out += " " + variable.name + " (line " + std::to_string(variable.line) + ")";
    }
    out += "\n";
  }
  return out;
}

std::string yamlScalar(const std::string& text) {
  if (canBePlain(text)) return text;
  std::string out = "\"";
  for (char c : text) {
    unsigned char byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte < 0x20 || byte == 0x7f) {
      char escape[8];
      std::snprintf(escape, sizeof escape, "\\x%02x", byte);
      out += escape;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

}  // namespace asgid::config
