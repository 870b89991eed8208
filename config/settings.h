// The one settings model. Every option is a row of the settings table (settings_table.cc),
// which drives the command line (CLI11), the YAML loader, ASGID_* environment variables,
// validation and --help; this struct is where the rows store their values. A reload builds a
// new Settings and never edits a running one.
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/log.h"

namespace asgid::config {

struct LogConfigValue;  // config/log_config.h

enum class Lifespan { kAuto, kOn, kOff };
enum class LogLevel { kTrace, kDebug, kInfo, kWarning, kError, kCritical };
enum class LogFormat { kText, kJson };
// uvicorn's --ws choices: any but kNone means asgid's own WebSocket protocol.
enum class WsImpl { kAuto, kNone, kWebsockets, kWebsocketsSansio, kWsproto };

struct Settings {
  // Application.
  std::string app;  // "module:attr" (attr may be dotted), as uvicorn takes it
  std::string app_dir = ".";
  bool factory = false;  // app names a callable that returns the ASGI app
  std::string venv;      // virtualenv whose site-packages the app sees; default $VIRTUAL_ENV
  Lifespan lifespan = Lifespan::kAuto;
  std::string root_path;

  // Sockets.
  std::string host = "127.0.0.1";
  int port = 8000;
  std::string uds;  // bind a Unix domain socket instead of host:port
  int backlog = 2048;

  // Logging.
  LogLevel log_level = LogLevel::kInfo;
  bool access_log = true;
  std::string error_logfile;   // error log file; empty or "-": stderr (reopened on SIGUSR1)
  std::string access_logfile;  // access log file; empty or "-": stdout (reopened on SIGUSR1)
  LogFormat log_format = LogFormat::kText;    // the error log: text lines or JSON lines
  std::optional<bool> use_colors;             // unset: colour only on a terminal
  std::string access_log_format = "default";  // a preset or gunicorn's atoms
  bool request_id = false;                    // give requests without X-Request-ID one
  std::string log_config;                     // a logging.config dictConfig file (JSON/YAML)
  // --log-config's content, read by load() (made absolute first), shared by every copy.
  std::shared_ptr<const LogConfigValue> log_config_data;

  // Responses.
  std::vector<std::pair<std::string, std::string>> headers;  // --header NAME:VALUE, repeatable
  bool server_header = true;
  bool date_header = true;

  // Timeouts, in seconds.
  double timeout_keep_alive = 5.0;
  double timeout_request_header = 10.0;     // first byte of a request to the end of its headers
  double timeout_request_body = 30.0;       // between two bytes of a request body the app awaits
  double timeout_send = 30.0;               // a client taking none of a queued response
  double timeout_graceful_shutdown = 30.0;  // in-flight requests after SIGTERM/SIGINT

  // Limits.
  int limit_concurrency = 0;               // requests in flight at once before 503; 0 = no limit
  int limit_request_line = 8190;           // bytes in the request target (414 beyond)
  int limit_request_fields = 100;          // header fields (431 beyond)
  int limit_request_field_size = 8190;     // bytes in one header line (431 beyond)
  int limit_request_headers_size = 65536;  // bytes in all header lines together (431 beyond)

  // WebSocket.
  WsImpl ws = WsImpl::kAuto;           // kNone: upgrade requests are served as plain HTTP
  int ws_max_size = 16 * 1024 * 1024;  // bytes in one message, inflated (1009 beyond)
  int ws_max_queue = 32;               // messages buffered for the app before reads stop
  double ws_ping_interval = 20.0;      // seconds between pings; 0: no pings
  double ws_ping_timeout = 20.0;       // seconds a ping may wait for its pong; 0: forever
  bool ws_per_message_deflate = true;  // offer permessage-deflate (RFC 7692)

  // Supervision (the master).
  int workers = 1;                // default $WEB_CONCURRENCY if set
  std::vector<std::string> bind;  // --bind, repeatable: HOST:PORT, [::]:PORT, unix:PATH
  std::vector<int> fds;           // --fd N, repeatable: inherited listening sockets
  int uds_perms = -1;             // --uds-perms 0660 (octal); -1: leave as the umask gives
  bool reuse_port = false;        // SO_REUSEPORT on TCP listeners
  bool preload = false;           // import the app in the master before forking
  double timeout_worker_healthcheck = 30.0;  // seconds of loop silence before a worker is killed
  double timeout_worker_boot = 60.0;         // seconds a new worker may take to become ready
  int limit_max_requests = 0;                // recycle a worker after this many requests; 0 = never
  int limit_max_requests_jitter = 0;         // + random 0..jitter per worker
  double max_worker_lifetime = 0.0;          // seconds; 0 = forever
  int max_worker_memory = 0;                 // MiB of RSS; 0 = no limit
  std::string pid_file;                      // --pid FILE
  std::string user;                          // drop privileges to this user after binding
  std::string group;
  int umask = -1;     // octal; -1 = inherit
  std::string chdir;  // change directory before importing the app

  // Development: restart the workers when source files change (the master watches them).
  bool reload = false;
  std::vector<std::string> reload_dirs;      // default: app_dir
  std::vector<std::string> reload_includes;  // glob patterns, added to *.py
  std::vector<std::string> reload_excludes;  // glob patterns, added to .* .py[cod] .sw.* ~*
  double reload_delay = 0.25;                // seconds of quiet before a burst becomes a restart
  bool reload_poll = false;                  // stat the tree every second instead of inotify

  // Where the settings came from (for messages).
  std::string config_file;
};

// A bad option or config value. The message names the flag or the key, and for YAML the
// file:line:col where it stands.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// What the command line asked for besides serving.
enum class Action { kServe, kExitOk };

struct LoadResult {
  Action action = Action::kServe;  // kExitOk after --help / --version (already printed)
  Settings settings;
};

// Builds Settings from defaults, then the YAML file (--config), then ASGID_* environment
// variables, then the command line, each overriding the one before. Prints --help and
// --version to stdout. Throws ConfigError.
LoadResult load(int argc, const char* const* argv);

// Looks up an environment variable: the value, or nullopt when it is unset.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

// The process environment (getenv).
EnvLookup processEnvironment();

// load() with the environment and the --help/--version output passed in (for tests).
LoadResult load(int argc, const char* const* argv, const EnvLookup& env, std::ostream& out);

// The --help text: every option with its default, bounds and environment variable.
std::string helpText();

// Loads only a YAML file over `base` (used by load() and by reloads). Throws ConfigError.
Settings loadYamlFile(const std::string& path, Settings base);

std::string_view toString(Lifespan value);
std::string_view toString(LogLevel value);
std::string_view toString(LogFormat value);

// How the log lines look under these settings (log::setFormat()).
log::Format logFormat(const Settings& settings);
std::string_view toString(WsImpl value);

}  // namespace asgid::config
