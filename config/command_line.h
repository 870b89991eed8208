// The command line, parsed (with CLI11, options registered from the settings table) but not
// yet applied: load() applies it after the YAML file and the environment so it wins over both.
#pragma once

#include <string>
#include <vector>

#include "config/setting_spec.h"

namespace asgid::config {

struct CommandLine {
  struct Value {
    const SettingSpec* spec = nullptr;
    std::string flag;  // as given, for messages: "--no-access-log", "APP"
    std::string text;  // a switch's is "true" or "false"
  };

  bool help = false;
  bool version = false;
  bool check_config = false;  // --check-config
  bool print_config = false;  // --print-config
  std::string config_file;    // --config, or empty
  std::vector<Value> values;  // in command-line order, so the last of a repeated flag wins
};

// Throws ConfigError for an unknown option (naming the nearest known one), a missing argument,
// a value given to a switch, or an unexpected argument. Values are checked when applied.
CommandLine parseCommandLine(int argc, const char* const* argv);

// Throws ConfigError naming the flag of every bad value.
void applyCommandLine(const CommandLine& command_line, Settings& settings);

// Whether --check-config is among the arguments, looked for without parsing them, so that
// even a command line CLI11 cannot parse is reported the --check-config way.
bool asksForCheckConfig(int argc, const char* const* argv);

}  // namespace asgid::config
