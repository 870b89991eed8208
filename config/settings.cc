// load(): the order of the sources, and nothing else; each source has its own file.
#include "config/settings.h"

#include <filesystem>
#include <iostream>

#include "config/command_line.h"
#include "config/config_report.h"
#include "config/env_file.h"
#include "config/environment.h"
#include "config/executable_venv.h"
#include "config/log_config.h"

namespace asgid::config {

LoadResult load(int argc, const char* const* argv) {
  return load(argc, argv, processEnvironment(), std::cout);
}

namespace {

// Whether one of the errors is about APP itself, which makes "no app given" redundant.
bool mentionsApp(const std::vector<std::string>& messages) {
  for (const std::string& message : messages) {
    if (message.starts_with("APP: ") || message.starts_with("ASGID_APP: ") ||
        message.find(": app: ") != std::string::npos) {
      return true;
    }
  }
  return false;
}

// Checks that need every source applied.
void checkCombination(const Settings& settings, ErrorList& errors) {
  if (settings.app.empty() && !mentionsApp(errors.messages())) {
    errors.add("no app given: pass APP (for example main:app), or set app in the " +
               std::string("config file or ASGID_APP"));
  }
  if (settings.reload && settings.preload) {
    errors.add(
        "--reload cannot be used with --preload: the master would keep the old code imported "
        "(drop --preload in development)");
  }
}

LoadResult loadOrThrow(int argc, const char* const* argv, const EnvLookup& env, std::ostream& out) {
  CommandLine command_line = parseCommandLine(argc, argv);
  if (command_line.help || command_line.version) {
    out << (command_line.help ? helpText() : "asgid " ASGID_VERSION "\n");
    return {.action = Action::kExitOk};
  }
  // Each source's errors are collected and the next source still runs, so one run names
  // every bad key, variable and flag. A file that cannot be read or parsed stops its own
  // source only.
  Settings settings;
  ErrorList errors;
  errors.attempt([&] { applyFallbackDefaults(env, settings); });
  applyOwnVenv(argc > 0 && argv[0] != nullptr ? argv[0] : "", settings);
  std::string config_file = command_line.config_file;
  if (config_file.empty()) config_file = readEnv(env, kConfigFileEnv);
  if (!config_file.empty()) {
    errors.attempt([&] { applyYamlFile(config_file, settings); });
  }
  errors.attempt([&] { applyEnvironment(env, settings); });
  errors.attempt([&] { applyCommandLine(command_line, settings); });
  checkCombination(settings, errors);
  if (!settings.env_file.empty()) {
    errors.attempt([&] { settings.app_environment = loadEnvFile(settings.env_file, env); });
  }
  if (!settings.log_config.empty()) {
    // Absolute: the workers apply it after --chdir, and a reload must read the same file.
    std::error_code error;
    auto path = std::filesystem::absolute(settings.log_config, error);
    if (!error) settings.log_config = path.lexically_normal().string();
    errors.attempt([&] { settings.log_config_data = readLogConfig(settings.log_config); });
  }
  errors.throwIfAny();
  Action action = command_line.print_config ? Action::kPrintConfig : Action::kServe;
  return {.action = action, .settings = std::move(settings)};
}

}  // namespace

LoadResult load(int argc, const char* const* argv, const EnvLookup& env, std::ostream& out) {
  if (!asksForCheckConfig(argc, argv)) return loadOrThrow(argc, argv, env, out);
  LoadResult result;
  try {
    result = loadOrThrow(argc, argv, env, out);
  } catch (const ConfigError& error) {
    return {.action = Action::kCheckConfig, .errors = error.messages()};
  }
  if (result.action == Action::kExitOk) return result;
  result.action = Action::kCheckConfig;
  result.errors = checkPaths(result.settings);
  return result;
}

ConfigError::ConfigError(const std::string& message)
    : std::runtime_error(message), messages_{message} {}

namespace {
std::string joinLines(const std::vector<std::string>& messages) {
  std::string text;
  for (const std::string& message : messages) text += (text.empty() ? "" : "\n") + message;
  return text;
}
}  // namespace

ConfigError::ConfigError(std::vector<std::string> messages)
    : std::runtime_error(joinLines(messages)), messages_(std::move(messages)) {}

void ErrorList::add(const ConfigError& error) {
  for (const std::string& message : error.messages()) messages_.push_back(message);
}

void ErrorList::attempt(const std::function<void()>& step) {
  try {
    step();
  } catch (const ConfigError& error) {
    add(error);
  }
}

void ErrorList::throwIfAny() const {
  if (!messages_.empty()) throw ConfigError(messages_);
}

std::string_view toString(WsImpl value) {
  switch (value) {
    case WsImpl::kAuto:
      return "auto";
    case WsImpl::kNone:
      return "none";
    case WsImpl::kWebsockets:
      return "websockets";
    case WsImpl::kWebsocketsSansio:
      return "websockets-sansio";
    case WsImpl::kWsproto:
      return "wsproto";
  }
  return "auto";
}

log::Format logFormat(const Settings& settings) {
  log::Format format;
  format.json = settings.log_format == LogFormat::kJson;
  if (settings.use_colors)
    format.colors = *settings.use_colors ? log::Colors::kAlways : log::Colors::kNever;
  format.access_raw =
      !settings.access_log_format.empty() && settings.access_log_format != "default";
  return format;
}

std::string_view toString(LogFormat value) {
  return value == LogFormat::kJson ? "json" : "text";
}

std::string_view toString(Lifespan value) {
  switch (value) {
    case Lifespan::kAuto:
      return "auto";
    case Lifespan::kOn:
      return "on";
    case Lifespan::kOff:
      return "off";
  }
  return "auto";
}

std::string_view toString(LogLevel value) {
  switch (value) {
    case LogLevel::kTrace:
      return "trace";
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
    case LogLevel::kCritical:
      return "critical";
  }
  return "info";
}

}  // namespace asgid::config
