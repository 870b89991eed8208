// One row of the settings table, and the factories that build rows of each type.
//
// Principle: every source of settings (command line, YAML file, environment) reduces a value
// to text and hands it to the row, which parses, checks bounds and stores it in Settings.
// So a row is the only place that knows a setting's type, and adding a setting is adding a
// row: the command line, the YAML keys, the ASGID_* variables and --help all follow.
#pragma once

#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/settings.h"
#include "config/value_parsers.h"

namespace asgid::config {

// How a setting takes values on the command line and in YAML.
enum class SettingKind {
  kValue,   // --port 8000; port: 8000
  kSwitch,  // --access-log / --no-access-log; access_log: false
  kList,    // --header A:B --header C:D (repeatable); headers: ["A: B", "C: D"]
};

struct SettingSpec {
  std::string name;           // YAML key, snake_case
  std::string flag;           // "--port"; a positional argument's name ("APP") has no dashes
  std::string negative_flag;  // kSwitch: "--no-access-log", or empty when there is none
  std::string env;            // "ASGID_PORT"
  std::string fallback_env;   // a variable of someone else's that supplies the default
  SettingKind kind = SettingKind::kValue;
  std::string metavar;  // "INTEGER", "auto|on|off"
  std::string help;
  std::string bounds;  // "0..65535", for --help; empty when any value of the type goes
  // Another row's name when this one is a second spelling of that setting (uvicorn's
  // --h11-max-incomplete-event-size for --limit-request-headers-size): it stores into that
  // row's field, and --print-config shows only that row.
  std::string alias_of;
  // Logged once at startup (and by --check-config) when a source gives this setting: for
  // uvicorn's flags that mean nothing to asgid.
  std::string notice;

  // Parses one value (a flag's argument, an environment variable, a YAML scalar) into its
  // field; a kList row appends one item. Throws ValueError, whose message the caller prefixes
  // with the flag, variable or file:line:col and key.
  std::function<void(Settings&, std::string_view)> assign;
  std::function<void(Settings&)> clear;              // kList: empties the list
  std::function<std::string(const Settings&)> show;  // the field as text, for --help
  // kList: the items as they would be given, one per flag (for --print-config).
  std::function<std::vector<std::string>(const Settings&)> items;

  bool isPositional() const { return !flag.starts_with('-'); }
};

// What a factory needs besides the field: the YAML key, the flags as uvicorn spells them
// ("--port", "--access-log/--no-access-log", "APP"), the help line, and optionally a metavar
// other than the type's.
struct SettingNames {
  std::string_view name;
  std::string_view flags;
  std::string_view help;
  std::string_view metavar = {};
};

// Checks a string setting's value; throws ValueError.
using StringCheck = void (*)(std::string_view value);

SettingSpec stringSetting(SettingNames names, std::string Settings::*field,
                          StringCheck check = nullptr);
SettingSpec intSetting(SettingNames names, int Settings::*field, IntRange range);
// A mode (--uds-perms, --umask) written in octal, 0..max, stored as an int whose default -1
// means "not set"; --help shows the value in octal.
SettingSpec octalSetting(SettingNames names, int Settings::*field, int max);
SettingSpec doubleSetting(SettingNames names, double Settings::*field, DoubleRange range);
SettingSpec switchSetting(SettingNames names, bool Settings::*field);
// A boolean that takes its value as an argument (uvicorn's "--ws-per-message-deflate false").
SettingSpec boolSetting(SettingNames names, bool Settings::*field);

// The fields and flags every row has; the typed factories fill in the rest.
SettingSpec baseSetting(SettingNames names, SettingKind kind, std::string_view metavar);

// A setting with a fixed set of values, spelled as toString(Enum) spells them.
template <typename Enum>
SettingSpec enumSetting(SettingNames names, Enum Settings::*field, std::vector<Enum> values) {
  std::vector<std::string> choices;
  for (Enum value : values) choices.emplace_back(toString(value));
  std::string metavar;
  for (const std::string& choice : choices) metavar += (metavar.empty() ? "" : "|") + choice;
  SettingSpec spec = baseSetting(names, SettingKind::kValue, metavar);
  spec.assign = [field, values, choices](Settings& s, std::string_view text) {
    s.*field = values[parseChoice(text, choices)];
  };
  spec.show = [field](const Settings& s) { return std::string(toString(s.*field)); };
  return spec;
}

// A repeatable setting stored as std::vector<Item>; `parse` reads one item from text and
// `format` writes it back for --help.
template <typename Item>
SettingSpec listSetting(SettingNames names, std::vector<Item> Settings::*field,
                        Item (*parse)(std::string_view), std::string (*format)(const Item&)) {
  SettingSpec spec = baseSetting(names, SettingKind::kList, "TEXT");
  spec.assign = [field, parse](Settings& s, std::string_view text) {
    (s.*field).push_back(parse(text));
  };
  spec.clear = [field](Settings& s) { (s.*field).clear(); };
  spec.items = [field, format](const Settings& s) {
    std::vector<std::string> items;
    for (const Item& item : s.*field) items.push_back(format(item));
    return items;
  };
  spec.show = [field, format](const Settings& s) {
    std::string out;
    for (const Item& item : s.*field) out += (out.empty() ? "" : ", ") + format(item);
    return out.empty() ? std::string("none") : out;
  };
  return spec;
}

}  // namespace asgid::config
