#include "config/config_report.h"

#include <sys/stat.h>

#include <cctype>
#include <cstdio>

#include "config/settings_table.h"
#include "config/value_parsers.h"

namespace asgid::config {
namespace {

bool isDirectory(const std::string& path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode);
}

bool isFile(const std::string& path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode);
}

// Where a worker will look for `path`: relative paths are taken after --chdir.
std::string underChdir(const Settings& settings, const std::string& path) {
  if (path.starts_with('/') || settings.chdir.empty()) return path;
  return settings.chdir + "/" + path;
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

std::vector<std::string> checkPaths(const Settings& settings) {
  std::vector<std::string> problems;
  if (!settings.chdir.empty() && !isDirectory(settings.chdir)) {
    problems.push_back("--chdir: " + quote(settings.chdir) + " is not a directory");
  }
  std::string app_dir = underChdir(settings, settings.app_dir.empty() ? "." : settings.app_dir);
  if (!isDirectory(app_dir)) {
    problems.push_back("--app-dir: " + quote(app_dir) + " is not a directory");
  }
  if (!settings.venv.empty()) {
    std::string venv = underChdir(settings, settings.venv);
    if (!isFile(venv + "/pyvenv.cfg")) {
      problems.push_back("--venv: " + quote(venv) + " is not a virtualenv (no pyvenv.cfg)");
    }
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
