// The one settings model. Every option is a row of the settings table (settings_table.cc),
// which drives the command line (CLI11), the YAML loader, ASGID_* environment variables,
// validation and --help; this struct is where the rows store their values. A reload builds a
// new Settings and never edits a running one.
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <map>
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

// One variable of --env-file for the app's environment.
struct EnvVariable {
  std::string name;
  std::string value;
  int line = 0;  // in the env file, from 1
};

struct Settings {
  // Application.
  std::string app;  // "module:attr" (attr may be dotted), as uvicorn takes it
  std::string app_dir = ".";
  bool factory = false;  // app names a callable that returns the ASGI app
  std::string venv;      // virtualenv whose site-packages the app sees; default: asgid's own
                         // (config/executable_venv.h), else $VIRTUAL_ENV
  Lifespan lifespan = Lifespan::kAuto;
  std::string root_path;
  std::string env_file;  // dotenv file for the app's environment (--env-file)
  // uvicorn's choices that mean nothing to asgid, kept so --print-config shows what was given.
  std::string loop = "auto";
  std::string http = "auto";
  std::string interface = "auto";
  bool reset_contextvars = false;

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
  int limit_request_body = 0;              // bytes in a request body (413 beyond); 0 = no limit

  // Proxies: whose word about the client to believe (worker/http/request_origin.h).
  bool proxy_headers = true;                          // X-Forwarded-For/Proto from trusted peers
  std::string forwarded_allow_ips = "127.0.0.1,::1";  // default $FORWARDED_ALLOW_IPS, as uvicorn
  bool forwarded_header = false;                      // RFC 7239 Forwarded from trusted peers
  bool forwarded_host = false;                        // X-Forwarded-Host/Port, Forwarded host=
  bool proxy_protocol = false;  // every listener expects a PROXY header (v1 or v2)

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
  // The row name of every setting a source gave, and that source: "--port", "ASGID_PORT",
  // "asgid.yaml:3:7", "WEB_CONCURRENCY". A row not here has its default.
  std::map<std::string, std::string> sources;
  // The variables --env-file adds to the app's environment (read by load(), and again by a
  // reload): expanded, and only names the environment did not have.
  std::vector<EnvVariable> app_environment;
};

// One or more bad options or config values. Each message names the flag or the key, and for
// a file the file:line:col where it stands; what() is the messages, one per line.
class ConfigError : public std::runtime_error {
 public:
  explicit ConfigError(const std::string& message);
  explicit ConfigError(std::vector<std::string> messages);
  const std::vector<std::string>& messages() const { return messages_; }

 private:
  std::vector<std::string> messages_;
};

// Collects the errors of one source (every unknown YAML key, every bad line of an env file)
// so that one run reports them all.
class ErrorList {
 public:
  void add(std::string message) { messages_.push_back(std::move(message)); }
  void add(const ConfigError& error);
  // Runs `step`, keeping its ConfigError instead of letting it through.
  void attempt(const std::function<void()>& step);
  bool empty() const { return messages_.empty(); }
  const std::vector<std::string>& messages() const { return messages_; }
  // Throws one ConfigError with every message collected, if there is any.
  void throwIfAny() const;

 private:
  std::vector<std::string> messages_;
};

// What the command line asked for besides serving.
enum class Action {
  kServe,
  kExitOk,       // --help / --version, already printed
  kCheckConfig,  // --check-config: report `errors` (none: "ok") and exit
  kPrintConfig,  // --print-config: print the settings as YAML and exit
};

struct LoadResult {
  Action action = Action::kServe;
  Settings settings;
  std::vector<std::string> errors;  // kCheckConfig only: what load() would have thrown
};

// Builds Settings from defaults, then the YAML file (--config), then ASGID_* environment
// variables, then the command line, each overriding the one before; then reads --env-file.
// Prints --help and --version to stdout. Throws ConfigError with every error it found (the
// errors of one source are collected; a source that cannot be read stops the load), except
// under --check-config, which returns them in LoadResult::errors.
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

// Applies a YAML file to `settings` in place: after a ConfigError the file's good keys are
// applied and the bad ones are not.
void applyYamlFile(const std::string& path, Settings& settings);

std::string_view toString(Lifespan value);
std::string_view toString(LogLevel value);
std::string_view toString(LogFormat value);

// How the log lines look under these settings (log::setFormat()).
log::Format logFormat(const Settings& settings);
std::string_view toString(WsImpl value);

}  // namespace asgid::config
