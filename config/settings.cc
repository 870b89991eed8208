// load(): the order of the sources, and nothing else; each source has its own file.
#include "config/settings.h"

#include <filesystem>
#include <iostream>

#include "config/command_line.h"
#include "config/environment.h"
#include "config/log_config.h"

namespace asgid::config {

LoadResult load(int argc, const char* const* argv) {
  return load(argc, argv, processEnvironment(), std::cout);
}

LoadResult load(int argc, const char* const* argv, const EnvLookup& env, std::ostream& out) {
  CommandLine command_line = parseCommandLine(argc, argv);
  if (command_line.help || command_line.version) {
    out << (command_line.help ? helpText() : "asgid " ASGID_VERSION "\n");
    return {.action = Action::kExitOk};
  }
  Settings settings;
  applyFallbackDefaults(env, settings);
  std::string config_file = command_line.config_file;
  if (config_file.empty()) config_file = readEnv(env, kConfigFileEnv);
  if (!config_file.empty()) settings = loadYamlFile(config_file, std::move(settings));
  applyEnvironment(env, settings);
  applyCommandLine(command_line, settings);
  if (settings.app.empty()) {
    throw ConfigError("no app given: pass APP (for example main:app), or set app in the " +
                      std::string("config file or ASGID_APP"));
  }
  if (!settings.log_config.empty()) {
    // Absolute: the workers apply it after --chdir, and a reload must read the same file.
    std::error_code error;
    auto path = std::filesystem::absolute(settings.log_config, error);
    if (!error) settings.log_config = path.lexically_normal().string();
    settings.log_config_data = readLogConfig(settings.log_config);
  }
  if (settings.reload && settings.preload) {
    throw ConfigError(
        "--reload cannot be used with --preload: the master would keep the old code imported "
        "(drop --preload in development)");
  }
  return {.action = Action::kServe, .settings = std::move(settings)};
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
