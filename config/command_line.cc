#include "config/command_line.h"

#include <CLI/CLI.hpp>

#include <map>
#include <string_view>

#include "config/closest_name.h"
#include "config/setting_writer.h"
#include "config/settings_table.h"

namespace asgid::config {
namespace {

// Which row, and which of a switch's two flags, a CLI11 option stands for.
struct Binding {
  const SettingSpec* spec = nullptr;
  bool negative = false;
};
using Bindings = std::map<const CLI::Option*, Binding>;

// Options that are not settings: the man page and --help list them by hand.
const std::vector<std::string>& extraFlags() {
  static const std::vector<std::string> flags = {"--config",  "--check-config", "--print-config",
                                                 "--version", "--help",         "-h"};
  return flags;
}

Bindings registerTable(CLI::App& app) {
  Bindings bindings;
  for (const SettingSpec& spec : settingsTable()) {
    if (spec.kind == SettingKind::kSwitch) {
      bindings[app.add_flag(spec.flag)->disable_flag_override()] = {&spec, false};
      if (spec.negative_flag.empty()) continue;
      bindings[app.add_flag(spec.negative_flag)->disable_flag_override()] = {&spec, true};
    } else {
      // Every occurrence is kept: parse_order() replays them and the last one wins.
      CLI::Option* option = app.add_option(spec.flag)->type_name(spec.metavar);
      bindings[option->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)] = {&spec, false};
    }
  }
  return bindings;
}

std::vector<std::string> knownFlags() {
  std::vector<std::string> flags = extraFlags();
  for (const SettingSpec& spec : settingsTable()) {
    if (!spec.isPositional()) flags.push_back(spec.flag);
    if (!spec.negative_flag.empty()) flags.push_back(spec.negative_flag);
  }
  return flags;
}

bool isSwitchFlag(std::string_view flag) {
  for (const SettingSpec& spec : settingsTable()) {
    if (spec.kind == SettingKind::kSwitch && (flag == spec.flag || flag == spec.negative_flag)) {
      return true;
    }
  }
  return flag == "--help" || flag == "--version" || flag == "--check-config" ||
         flag == "--print-config";
}

// CLI11 would take "--access-log=false" as a flag override and report it without the dashes;
// say plainly that a switch takes no value.
void rejectSwitchValues(int argc, const char* const* argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--") return;
    size_t equals = arg.find('=');
    if (!arg.starts_with("--") || equals == std::string_view::npos) continue;
    std::string_view flag = arg.substr(0, equals);
    if (isSwitchFlag(flag)) throw ConfigError(std::string(flag) + " takes no value");
  }
}

// uvicorn flags people bring along that asgid does not offer (yet): named plainly instead of
// getting a look-alike suggestion ("--reload" is not "--preload").
constexpr std::string_view kUvicornOnly[] = {
    "--ssl-keyfile",   "--ssl-certfile", "--ssl-keyfile-password", "--ssl-version",
    "--ssl-cert-reqs", "--ssl-ca-certs", "--ssl-ciphers",          "--http2"};

std::string unknownOption(const std::string& arg) {
  std::string flag = arg.substr(0, arg.find('='));
  for (std::string_view known : kUvicornOnly) {
    if (flag == known)
      return "option " + quote(flag) + " (a uvicorn option) is not supported by asgid yet";
  }
  std::string message = "unknown option " + quote(flag);
  std::string nearest = closestName(flag, knownFlags());
  return nearest.empty() ? message : message + " (did you mean '" + nearest + "'?)";
}

// Every unknown option is reported; stray arguments only when there is none: in
// "--ssl-keyfile k.pem main:app" the k.pem is only stray because --ssl-keyfile is unknown.
// CLI11 leaves the "--" marker among the extras.
void rejectExtras(const std::vector<std::string>& extras) {
  ErrorList errors;
  for (const std::string& extra : extras) {
    if (extra.starts_with('-') && extra != "-" && extra != "--") errors.add(unknownOption(extra));
  }
  errors.throwIfAny();
  for (const std::string& extra : extras) {
    if (extra != "--") throw ConfigError("unexpected argument " + quote(extra));
  }
}

std::vector<CommandLine::Value> collectValues(const CLI::App& app, const Bindings& bindings) {
  std::vector<CommandLine::Value> values;
  std::map<const CLI::Option*, size_t> seen;
  for (const CLI::Option* option : app.parse_order()) {
    auto found = bindings.find(option);
    if (found == bindings.end()) continue;  // --config, --help, --version
    const auto& [spec, negative] = found->second;
    size_t index = seen[option]++;
    if (spec->kind == SettingKind::kSwitch) {
      values.push_back(
          {spec, negative ? spec->negative_flag : spec->flag, negative ? "false" : "true"});
    } else {
      values.push_back({spec, spec->flag, option->results().at(index)});
    }
  }
  return values;
}

}  // namespace

CommandLine parseCommandLine(int argc, const char* const* argv) {
  CLI::App app{"", "asgid"};
  app.set_help_flag();  // helpText() is ours: it shows defaults and ASGID_* variables
  app.allow_extras();   // collected and reported by rejectExtras(), with a suggestion
  CommandLine command_line;
  app.add_flag("-h,--help", command_line.help);
  app.add_flag("--version", command_line.version);
  app.add_flag("--check-config", command_line.check_config);
  app.add_flag("--print-config", command_line.print_config);
  app.add_option("--config", command_line.config_file)
      ->type_name("FILE")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  Bindings bindings = registerTable(app);
  rejectSwitchValues(argc, argv);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    throw ConfigError(e.what());
  }
  if (command_line.help || command_line.version) return command_line;
  rejectExtras(app.remaining());
  command_line.values = collectValues(app, bindings);
  return command_line;
}

void applyCommandLine(const CommandLine& command_line, Settings& settings) {
  SettingWriter writer(settings);
  ErrorList errors;
  for (const CommandLine::Value& value : command_line.values) {
    errors.attempt([&] { writer.set(*value.spec, value.text, value.flag); });
  }
  errors.throwIfAny();
}

bool asksForCheckConfig(int argc, const char* const* argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--") return false;
    if (arg == "--check-config") return true;
  }
  return false;
}

}  // namespace asgid::config
