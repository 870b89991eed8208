#include "config/settings_table.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <cctype>
#include <climits>
#include <stdexcept>

#include "common/access_log_format.h"
#include "common/address_set.h"

namespace asgid::config {
namespace {

// Beyond a day a timeout is a typo, and the bound keeps conversions to milliseconds safe.
constexpr DoubleRange kSeconds{.min = 0, .max = 86400, .min_exclusive = true};
constexpr IntRange kAtLeastOne{.min = 1, .max = INT_MAX};
constexpr IntRange kAtLeastZero{.min = 0, .max = INT_MAX};
// 0 means forever; a year bounds typos and keeps conversions to milliseconds safe.
constexpr DoubleRange kLifetime{.min = 0, .max = 365 * 86400};
// Permission bits only: setuid, setgid and sticky make no sense for a socket or a umask.
constexpr int kMaxMode = 0777;

SettingSpec withFallbackEnv(SettingSpec spec, std::string_view variable) {
  spec.fallback_env = variable;
  return spec;
}

void checkNotEmpty(std::string_view text) {
  if (text.empty()) throw ValueError("may not be empty");
}

std::string formatText(const std::string& text) {
  return text;
}

std::string formatInt(const int& value) {
  return std::to_string(value);
}

std::string parseNonEmptyText(std::string_view text) {
  checkNotEmpty(text);
  return std::string(text);
}

void checkAddressList(std::string_view text) {
  try {
    AddressSet::parse(text);
  } catch (const std::invalid_argument& e) {
    throw ValueError(e.what());
  }
}

int parseFd(std::string_view text) {
  return parseInt(text, kAtLeastZero);
}

SettingSpec withNotice(SettingSpec spec, std::string_view notice) {
  spec.notice = notice;
  return spec;
}

SettingSpec aliasOf(std::string_view name, SettingSpec spec) {
  spec.alias_of = name;
  return spec;
}

// uvicorn's choices for a flag asgid ignores: any of them is accepted, anything else is the
// typo it would be under uvicorn.
void checkChoice(std::string_view text, const std::vector<std::string>& choices) {
  parseChoice(text, choices);
}

void checkLoopChoice(std::string_view text) {
  checkChoice(text, {"auto", "asyncio", "uvloop", "zuvloop"});
}

void checkHttpChoice(std::string_view text) {
  checkChoice(text, {"auto", "h11", "httptools", "zttp"});
}

void checkInterfaceChoice(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "asgi2") {
    throw ValueError(
        "asgid serves ASGI 3 applications only; wrap an ASGI 2 app (a class taking the scope) "
        "with asgiref.compatibility.guarantee_single_callable");
  }
  if (lower == "wsgi") {
    throw ValueError(
        "asgid serves ASGI 3 applications only; wrap a WSGI app in an adapter such as "
        "a2wsgi.WSGIMiddleware or asgiref.wsgi.WsgiToAsgi");
  }
  checkChoice(text, {"auto", "asgi3"});
}

// Measured (tests/integration/test_flag_parity.py): the lifespan runs in a task of its own, so
// what it sets stays in that task's context, and each request task starts from a copy of the
// worker's context, so what a request sets never reaches the next.
constexpr char kResetContextvarsNotice[] =
    "asgid always does this: each request runs in a fresh copy of the worker's context, and "
    "context set during lifespan startup is not visible to requests (share objects through "
    "the lifespan state, scope[\"state\"])";

void checkAccessLogFormat(std::string_view text) {
  try {
    log::AccessLogFormat::compile(text);
  } catch (const std::invalid_argument& error) {
    throw ValueError(quote(text) + ": " + error.what());
  }
}

// uvicorn's --use-colors/--no-use-colors: a switch whose default is neither (decided per
// destination: a terminal gets colour).
SettingSpec colorsSetting(SettingNames names) {
  SettingSpec spec = baseSetting(names, SettingKind::kSwitch, "");
  // "auto" (what --print-config shows for the default) reads back as the default.
  spec.assign = [](Settings& s, std::string_view text) {
    if (text == "auto") {
      s.use_colors.reset();
    } else {
      s.use_colors = parseBool(text);
    }
  };
  spec.show = [](const Settings& s) {
    return std::string(!s.use_colors ? "auto" : *s.use_colors ? "true" : "false");
  };
  return spec;
}

// One row per setting, in the order --help lists them. Long, but a table: each row reads alone.
std::vector<SettingSpec> buildTable() {
  using S = Settings;
  return {
      // Application.
      stringSetting({"app", "APP", "The ASGI application, as module:attr (attr may be dotted)."},
                    &S::app, checkAppName),
      stringSetting({"app_dir", "--app-dir", "Look for APP's module in this directory.", "PATH"},
                    &S::app_dir),
      switchSetting({"factory", "--factory",
                     "Treat APP as a callable that takes no arguments and returns the app."},
                    &S::factory),
      withFallbackEnv(
          stringSetting({"venv", "--venv",
                         "Import APP with this virtualenv's site-packages. An asgid installed in a "
                         "virtualenv (pip) uses that one by default.",
                         "PATH"},
                        &S::venv),
          "VIRTUAL_ENV"),
      enumSetting({"lifespan", "--lifespan",
                   "Run the ASGI lifespan protocol; auto carries on if the app does not take it."},
                  &S::lifespan, {Lifespan::kAuto, Lifespan::kOn, Lifespan::kOff}),
      stringSetting({"root_path", "--root-path",
                     "The ASGI root_path, for an app mounted below a URL prefix by a proxy."},
                    &S::root_path),
      stringSetting({"env_file", "--env-file",
                     "Add this dotenv file's variables to the app's environment (variables "
                     "already set win); re-read on SIGHUP.",
                     "FILE"},
                    &S::env_file),

      // Sockets.
      stringSetting({"host", "--host", "Bind the socket to this address."}, &S::host,
                    checkNotEmpty),
      intSetting({"port", "--port", "Bind the socket to this port; 0 picks a free one."}, &S::port,
                 {.min = 0, .max = 65535}),
      stringSetting({"uds", "--uds", "Bind a Unix domain socket at this path instead.", "PATH"},
                    &S::uds, checkSocketPath),
      intSetting({"backlog", "--backlog", "Connections the kernel queues before accept()."},
                 &S::backlog, {.min = 1, .max = 65535}),
      listSetting({"bind", "--bind",
                   "Listen on HOST:PORT, [IPV6]:PORT or unix:PATH (repeatable), each optionally "
                   "prefixed with proxy: for the PROXY protocol; when given, --host, --port and "
                   "--uds are not used.",
                   "ADDRESS"},
                  &S::bind, parseBindAddress, formatText),
      listSetting({"fds", "--fd",
                   "Serve the inherited listening socket on this descriptor "
                   "(repeatable).",
                   "INTEGER"},
                  &S::fds, parseFd, formatInt),
      octalSetting({"uds_perms", "--uds-perms",
                    "Give Unix sockets this mode, in octal; unset leaves what the umask gives."},
                   &S::uds_perms, kMaxMode),
      switchSetting(
          {"reuse_port", "--reuse-port/--no-reuse-port", "Set SO_REUSEPORT on TCP listeners."},
          &S::reuse_port),

      // Logging.
      enumSetting({"log_level", "--log-level", "Log messages of this level and above."},
                  &S::log_level,
                  {LogLevel::kTrace, LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarning,
                   LogLevel::kError, LogLevel::kCritical}),
      switchSetting({"access_log", "--access-log/--no-access-log", "Log one line per request."},
                    &S::access_log),
      stringSetting(
          {"error_logfile", "--error-logfile",
           "Write the error log to this file ('-': stderr); reopened on SIGUSR1.", "FILE"},
          &S::error_logfile),
      stringSetting(
          {"access_logfile", "--access-logfile",
           "Write the access log to this file ('-': stdout); reopened on SIGUSR1.", "FILE"},
          &S::access_logfile),
      enumSetting({"log_format", "--log-format",
                   "Write the error log as text lines or as JSON lines (one object per record, "
                   "tracebacks inside)."},
                  &S::log_format, {LogFormat::kText, LogFormat::kJson}),
      colorsSetting({"use_colors", "--use-colors/--no-use-colors",
                     "Colour the log levels; default: only when the output is a terminal (never "
                     "in files or the journal)."}),
      stringSetting({"access_log_format", "--access-log-format",
                     "The access line: default, common, combined, json, or a format of "
                     "gunicorn's atoms such as '%(h)s \"%(r)s\" %(s)s %({x-request-id}i)s'.",
                     "FORMAT"},
                    &S::access_log_format, checkAccessLogFormat),
      switchSetting({"request_id", "--request-id/--no-request-id",
                     "Give a request without an X-Request-ID header one (32 hex digits) that the "
                     "app and the access log see."},
                    &S::request_id),
      stringSetting({"log_config", "--log-config",
                     "Configure Python logging in each worker from this dictConfig file (JSON or "
                     "YAML) before the app is imported.",
                     "FILE"},
                    &S::log_config),

      // Responses.
      listSetting(
          {"headers", "--header", "Add this header to every response (repeatable).", "NAME:VALUE"},
          &S::headers, parseHeader, formatHeader),
      switchSetting({"server_header", "--server-header/--no-server-header",
                     "Send a Server header unless the app sets one."},
                    &S::server_header),
      switchSetting({"date_header", "--date-header/--no-date-header",
                     "Send a Date header unless the app sets one."},
                    &S::date_header),

      // Timeouts.
      doubleSetting({"timeout_keep_alive", "--timeout-keep-alive",
                     "Close a keep-alive connection idle for this many seconds.", "SECONDS"},
                    &S::timeout_keep_alive, kSeconds),
      doubleSetting({"timeout_request_header", "--timeout-request-header",
                     "Answer 408 when a request's line and headers take longer.", "SECONDS"},
                    &S::timeout_request_header, kSeconds),
      doubleSetting(
          {"timeout_request_body", "--timeout-request-body",
           "Answer 408 (or close) when a request body stalls this long between bytes.", "SECONDS"},
          &S::timeout_request_body, kSeconds),
      doubleSetting(
          {"timeout_send", "--timeout-send",
           "Close a connection whose client takes no response byte for this long.", "SECONDS"},
          &S::timeout_send, kSeconds),
      doubleSetting({"timeout_graceful_shutdown", "--timeout-graceful-shutdown",
                     "On SIGTERM or SIGINT, wait this long for requests in flight.", "SECONDS"},
                    &S::timeout_graceful_shutdown, kSeconds),

      // Limits.
      intSetting({"limit_concurrency", "--limit-concurrency",
                  "Answer 503 beyond this many requests in flight; 0 means no limit."},
                 &S::limit_concurrency, {.min = 0, .max = INT_MAX}),
      intSetting({"limit_request_line", "--limit-request-line",
                  "Longest request target in bytes; longer gets 414."},
                 &S::limit_request_line, kAtLeastOne),
      intSetting({"limit_request_fields", "--limit-request-fields",
                  "Most header fields in a request; more gets 431."},
                 &S::limit_request_fields, kAtLeastOne),
      intSetting({"limit_request_field_size", "--limit-request-field-size",
                  "Longest header line in bytes; longer gets 431."},
                 &S::limit_request_field_size, kAtLeastOne),
      intSetting({"limit_request_headers_size", "--limit-request-headers-size",
                  "Most bytes in all header lines together; more gets 431."},
                 &S::limit_request_headers_size, kAtLeastOne),
      intSetting({"limit_request_body", "--limit-request-body",
                  "Largest request body in bytes; larger gets 413 and the connection closes. "
                  "0 means no limit.",
                  "BYTES"},
                 &S::limit_request_body, kAtLeastZero),

      // Proxies.
      switchSetting({"proxy_headers", "--proxy-headers/--no-proxy-headers",
                     "Believe X-Forwarded-For and X-Forwarded-Proto from --forwarded-allow-ips "
                     "peers."},
                    &S::proxy_headers),
      withFallbackEnv(
          stringSetting({"forwarded_allow_ips", "--forwarded-allow-ips",
                         "Peers trusted to name the client: comma-separated IPs, networks "
                         "(10.0.0.0/8), * (everyone) and unix (Unix-socket peers).",
                         "LIST"},
                        &S::forwarded_allow_ips, checkAddressList),
          "FORWARDED_ALLOW_IPS"),
      switchSetting({"forwarded_header", "--forwarded-header",
                     "Believe the RFC 7239 Forwarded header from trusted peers (it then wins "
                     "over X-Forwarded-*)."},
                    &S::forwarded_header),
      switchSetting({"forwarded_host", "--forwarded-host",
                     "Take the host and port (scope server, Host header) from "
                     "X-Forwarded-Host/-Port or Forwarded host= of trusted peers."},
                    &S::forwarded_host),
      switchSetting({"proxy_protocol", "--proxy-protocol",
                     "Expect a PROXY protocol header (v1 or v2) from trusted peers on every "
                     "listener; per listener: --bind proxy:ADDRESS."},
                    &S::proxy_protocol),

      // WebSocket.
      enumSetting({"ws", "--ws",
                   "WebSocket support: none serves upgrade requests as plain HTTP; every other "
                   "choice means asgid's own WebSocket protocol."},
                  &S::ws,
                  {WsImpl::kAuto, WsImpl::kNone, WsImpl::kWebsockets, WsImpl::kWebsocketsSansio,
                   WsImpl::kWsproto}),
      intSetting({"ws_max_size", "--ws-max-size",
                  "Largest WebSocket message in bytes, after decompression; larger closes 1009."},
                 &S::ws_max_size, kAtLeastOne),
      intSetting({"ws_max_queue", "--ws-max-queue",
                  "WebSocket messages buffered for an app that does not receive before reads "
                  "stop."},
                 &S::ws_max_queue, kAtLeastOne),
      doubleSetting(
          {"ws_ping_interval", "--ws-ping-interval",
           "Ping an idle WebSocket peer every this many seconds; 0 sends no pings.", "SECONDS"},
          &S::ws_ping_interval, kLifetime),
      doubleSetting(
          {"ws_ping_timeout", "--ws-ping-timeout",
           "Close a WebSocket (1011) whose pong takes longer; 0 waits forever.", "SECONDS"},
          &S::ws_ping_timeout, kLifetime),
      boolSetting({"ws_per_message_deflate", "--ws-per-message-deflate",
                   "Accept the permessage-deflate compression extension (RFC 7692)."},
                  &S::ws_per_message_deflate),

      // Workers (the master supervises them).
      withFallbackEnv(intSetting({"workers", "--workers", "Run this many worker processes."},
                                 &S::workers, {.min = 1, .max = 512}),
                      "WEB_CONCURRENCY"),
      switchSetting({"preload", "--preload/--no-preload",
                     "Import the app in the master, before forking the workers."},
                    &S::preload),
      doubleSetting({"timeout_worker_healthcheck", "--timeout-worker-healthcheck",
                     "Kill a worker whose loop has not answered for this many seconds.", "SECONDS"},
                    &S::timeout_worker_healthcheck, kSeconds),
      doubleSetting({"timeout_worker_boot", "--timeout-worker-boot",
                     "Kill a new worker that is not ready after this many seconds.", "SECONDS"},
                    &S::timeout_worker_boot, kSeconds),
      intSetting({"limit_max_requests", "--limit-max-requests",
                  "Replace a worker after this many requests; 0 means never."},
                 &S::limit_max_requests, kAtLeastZero),
      intSetting({"limit_max_requests_jitter", "--limit-max-requests-jitter",
                  "Add a random 0..N to each worker's --limit-max-requests."},
                 &S::limit_max_requests_jitter, kAtLeastZero),
      doubleSetting({"max_worker_lifetime", "--max-worker-lifetime",
                     "Replace a worker after this many seconds; 0 means never.", "SECONDS"},
                    &S::max_worker_lifetime, kLifetime),
      intSetting({"max_worker_memory", "--max-worker-memory",
                  "Replace a worker whose RSS passes this many MiB; 0 means no limit.", "MIB"},
                 &S::max_worker_memory, kAtLeastZero),

      // The master process.
      stringSetting({"pid_file", "--pid", "Write the master's pid to this file.", "FILE"},
                    &S::pid_file),
      stringSetting({"user", "--user", "Switch to this user after binding the sockets.", "NAME"},
                    &S::user),
      stringSetting({"group", "--group", "Switch to this group after binding the sockets.", "NAME"},
                    &S::group),
      octalSetting({"umask", "--umask", "Set this umask, in octal; unset inherits it."}, &S::umask,
                   kMaxMode),
      stringSetting(
          {"chdir", "--chdir", "Change to this directory before importing the app.", "PATH"},
          &S::chdir),

      // Development.
      switchSetting(
          {"reload", "--reload", "Restart the workers when a watched file changes (development)."},
          &S::reload),
      listSetting({"reload_dirs", "--reload-dir",
                   "Watch this directory tree (repeatable); default the --app-dir.", "PATH"},
                  &S::reload_dirs, parseNonEmptyText, formatText),
      listSetting({"reload_includes", "--reload-include",
                   "Also watch files matching this glob (repeatable); *.py always is.", "GLOB"},
                  &S::reload_includes, parseNonEmptyText, formatText),
      listSetting({"reload_excludes", "--reload-exclude",
                   "Ignore files and directories matching this glob (repeatable), besides "
                   ".*, .py[cod], .sw.* and ~*.",
                   "GLOB"},
                  &S::reload_excludes, parseNonEmptyText, formatText),
      doubleSetting({"reload_delay", "--reload-delay",
                     "Restart once no watched file has changed for this many seconds.", "SECONDS"},
                    &S::reload_delay, kSeconds),
      switchSetting({"reload_poll", "--reload-poll",
                     "Watch by polling with stat once a second instead of inotify."},
                    &S::reload_poll),

      // uvicorn's flags that asgid takes so that a uvicorn command line keeps working.
      withNotice(stringSetting({"loop", "--loop", "Accepted for uvicorn; has no effect.",
                                "auto|asyncio|uvloop|zuvloop"},
                               &S::loop, checkLoopChoice),
                 "asgid runs each worker on its own event loop (libev behind asyncio's API); "
                 "the option has no effect"),
      withNotice(stringSetting({"http", "--http", "Accepted for uvicorn; has no effect.",
                                "auto|h11|httptools|zttp"},
                               &S::http, checkHttpChoice),
                 "asgid has its own HTTP/1.1 implementation (on llhttp, as httptools is); the "
                 "option has no effect"),
      withNotice(
          stringSetting({"interface", "--interface",
                         "The application interface: asgid serves ASGI 3 only.", "auto|asgi3"},
                        &S::interface, checkInterfaceChoice),
          "asgid serves ASGI 3 applications, which auto and asgi3 both mean"),
      withNotice(
          aliasOf("limit_request_headers_size",
                  intSetting({"h11_max_incomplete_event_size", "--h11-max-incomplete-event-size",
                              "uvicorn's name for --limit-request-headers-size."},
                             &S::limit_request_headers_size, kAtLeastOne)),
          "sets --limit-request-headers-size, asgid's limit on a request's header block"),
      withNotice(switchSetting({"reset_contextvars", "--reset-contextvars",
                                "Accepted for uvicorn; asgid always runs each request in a fresh "
                                "context that hides what the lifespan set."},
                               &S::reset_contextvars),
                 kResetContextvarsNotice),
  };
}

// tchar, RFC 9110 section 5.6.2.
bool isTokenChar(char c) {
  static constexpr std::string_view kPunctuation = "!#$%&'*+-.^_`|~";
  return std::isalnum(static_cast<unsigned char>(c)) ||
         kPunctuation.find(c) != std::string_view::npos;
}

std::string_view trimWhitespace(std::string_view text) {
  size_t begin = text.find_first_not_of(" \t");
  if (begin == std::string_view::npos) return {};
  return text.substr(begin, text.find_last_not_of(" \t") - begin + 1);
}

// `address` may end in an RFC 6874 zone ("fe80::1%eth0") for a link-local address.
void checkIpv6Address(std::string_view text, std::string_view address) {
  std::string without_zone(address.substr(0, address.find('%')));
  in6_addr parsed;
  if (inet_pton(AF_INET6, without_zone.c_str(), &parsed) != 1) {
    throw ValueError(quote(text) + ": " + quote(address) + " is not an IPv6 address");
  }
}

// A name or an IPv4 address; the resolver has the last word, so check only its shape.
void checkHostName(std::string_view text, std::string_view host) {
  if (host.find(':') != std::string_view::npos) {
    throw ValueError(quote(text) + ": an IPv6 address needs brackets, as in [::1]:8000");
  }
  if (host.empty()) {
    throw ValueError(quote(text) + " has no host (0.0.0.0:PORT listens on every interface)");
  }
  for (char c : host) {
    if (std::isspace(static_cast<unsigned char>(c)) ||
        std::iscntrl(static_cast<unsigned char>(c)) || c == '[' || c == ']' || c == '/') {
      throw ValueError(quote(text) + ": " + quote(host) + " is not a host name or address");
    }
  }
}

}  // namespace

const std::vector<SettingSpec>& settingsTable() {
  static const std::vector<SettingSpec> table = buildTable();
  return table;
}

const SettingSpec* findSetting(std::string_view name) {
  for (const SettingSpec& spec : settingsTable()) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

std::pair<std::string, std::string> parseHeader(std::string_view text) {
  if (text.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos) {
    throw ValueError(quote(text) + " contains CR, LF or NUL");
  }
  size_t colon = text.find(':');
  if (colon == std::string_view::npos) {
    throw ValueError(quote(text) + " is not NAME:VALUE (no ':')");
  }
  std::string_view name = text.substr(0, colon);
  bool token = !name.empty();
  for (char c : name) token = token && isTokenChar(c);
  if (!token) throw ValueError(quote(name) + " is not a valid header name");
  return {std::string(name), std::string(trimWhitespace(text.substr(colon + 1)))};
}

std::string formatHeader(const std::pair<std::string, std::string>& header) {
  return header.first + ": " + header.second;
}

void checkAppName(std::string_view text) {
  size_t colon = text.find(':');
  if (colon == 0 || colon == std::string_view::npos || colon + 1 == text.size()) {
    throw ValueError(quote(text) + " is not module:attr (for example main:app)");
  }
}

std::string parseBindAddress(std::string_view text) {
  // "proxy:" before a whole address (which always holds a ':') asks for the PROXY protocol on
  // that listener; "proxy:8000" alone stays the host named proxy.
  if (text.starts_with(kProxyBindPrefix) &&
      text.find(':', kProxyBindPrefix.size()) != std::string_view::npos) {
    std::string_view address = text.substr(kProxyBindPrefix.size());
    if (address.starts_with(kProxyBindPrefix) &&
        address.find(':', kProxyBindPrefix.size()) != std::string_view::npos) {
      throw ValueError(quote(text) + " says proxy: twice");
    }
    parseBindAddress(address);
    return std::string(text);
  }
  if (text.starts_with("unix:")) {
    std::string_view path = text.substr(5);
    if (path.empty()) throw ValueError(quote(text) + " has no path after 'unix:'");
    checkSocketPath(path);
    return std::string(text);
  }
  size_t colon;
  if (text.starts_with('[')) {
    size_t close = text.find(']');
    if (close == std::string_view::npos || text.substr(close + 1, 1) != ":") {
      throw ValueError(quote(text) + " is not [IPV6]:PORT");
    }
    checkIpv6Address(text, text.substr(1, close - 1));
    colon = close + 1;
  } else {
    colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      throw ValueError(quote(text) + " is not HOST:PORT, [IPV6]:PORT or unix:PATH");
    }
    checkHostName(text, text.substr(0, colon));
  }
  try {
    parseInt(text.substr(colon + 1), {.min = 0, .max = 65535});
  } catch (const ValueError& e) {
    throw ValueError(quote(text) + ": port " + e.what());
  }
  return std::string(text);
}

void checkSocketPath(std::string_view text) {
  constexpr size_t kMax = sizeof(sockaddr_un::sun_path) - 1;
  if (text.size() > kMax) {
    throw ValueError(quote(text) + " is longer than " + std::to_string(kMax) +
                     " bytes, the most a Unix socket path can have");
  }
}

}  // namespace asgid::config
