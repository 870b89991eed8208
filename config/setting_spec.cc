#include "config/setting_spec.h"

#include <cctype>

namespace asgid::config {
namespace {

std::string envName(std::string_view name) {
  std::string env = "ASGID_";
  for (char c : name) env += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return env;
}

}  // namespace

SettingSpec baseSetting(SettingNames names, SettingKind kind, std::string_view metavar) {
  SettingSpec spec;
  spec.name = names.name;
  std::string_view flags = names.flags;
  size_t slash = flags.find('/');
  spec.flag = flags.substr(0, slash);
  if (slash != std::string_view::npos) spec.negative_flag = flags.substr(slash + 1);
  spec.env = envName(names.name);
  spec.kind = kind;
  spec.metavar = names.metavar.empty() ? metavar : names.metavar;
  spec.help = names.help;
  return spec;
}

SettingSpec stringSetting(SettingNames names, std::string Settings::*field, StringCheck check) {
  SettingSpec spec = baseSetting(names, SettingKind::kValue, "TEXT");
  spec.assign = [field, check](Settings& s, std::string_view text) {
    if (check) check(text);
    s.*field = text;
  };
  spec.show = [field](const Settings& s) { return s.*field; };
  return spec;
}

SettingSpec intSetting(SettingNames names, int Settings::*field, IntRange range) {
  SettingSpec spec = baseSetting(names, SettingKind::kValue, "INTEGER");
  spec.bounds = describe(range);
  spec.assign = [field, range](Settings& s, std::string_view text) {
    s.*field = parseInt(text, range);
  };
  spec.show = [field](const Settings& s) { return std::to_string(s.*field); };
  return spec;
}

SettingSpec octalSetting(SettingNames names, int Settings::*field, int max) {
  SettingSpec spec = baseSetting(names, SettingKind::kValue, "MODE");
  spec.bounds = "0.." + formatOctal(max);
  spec.assign = [field, max](Settings& s, std::string_view text) {
    s.*field = parseOctal(text, max);
  };
  spec.show = [field](const Settings& s) {
    return s.*field < 0 ? std::string() : formatOctal(s.*field);
  };
  return spec;
}

SettingSpec doubleSetting(SettingNames names, double Settings::*field, DoubleRange range) {
  SettingSpec spec = baseSetting(names, SettingKind::kValue, "FLOAT");
  spec.bounds = describe(range);
  spec.assign = [field, range](Settings& s, std::string_view text) {
    s.*field = parseDouble(text, range);
  };
  spec.show = [field](const Settings& s) { return formatNumber(s.*field); };
  return spec;
}

SettingSpec switchSetting(SettingNames names, bool Settings::*field) {
  SettingSpec spec = baseSetting(names, SettingKind::kSwitch, "");
  spec.assign = [field](Settings& s, std::string_view text) { s.*field = parseBool(text); };
  spec.show = [field](const Settings& s) { return std::string(s.*field ? "true" : "false"); };
  return spec;
}

SettingSpec boolSetting(SettingNames names, bool Settings::*field) {
  SettingSpec spec = baseSetting(names, SettingKind::kValue, "BOOLEAN");
  spec.assign = [field](Settings& s, std::string_view text) { s.*field = parseBool(text); };
  spec.show = [field](const Settings& s) { return std::string(s.*field ? "true" : "false"); };
  return spec;
}

}  // namespace asgid::config
