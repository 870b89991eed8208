// Applies the values of one source (the YAML file, the environment or the command line) to
// Settings through the table's rows.
#pragma once

#include <set>
#include <string>
#include <string_view>

#include "config/setting_spec.h"

namespace asgid::config {

// A list given in a source replaces the list from the sources below it instead of extending
// it: repeated --header flags add up, and together they override the YAML file's headers.
// So use one writer per source.
class SettingWriter {
 public:
  explicit SettingWriter(Settings& settings) : settings_(settings) {}

  // Parses `text` into the row's field and records `source` (or, when empty, `where`) as
  // where the setting came from. `where` starts the message of the ConfigError thrown for a
  // bad value: "--port", "ASGID_PORT", "app.yaml:3:7: port".
  void set(const SettingSpec& spec, std::string_view text, std::string_view where,
           std::string_view source = {});

  // Empties a list row's field, as a source that gives an empty list does.
  void clearList(const SettingSpec& spec, std::string_view source = {});

 private:
  Settings& settings_;
  std::set<const SettingSpec*> lists_given_;
};

}  // namespace asgid::config
