#include "config/settings_table.h"

#include <sys/un.h>

#include <cctype>
#include <climits>

namespace asgid::config {
namespace {

// Beyond a day a timeout is a typo, and the bound keeps conversions to milliseconds safe.
constexpr DoubleRange kSeconds{.min = 0, .max = 86400, .min_exclusive = true};
constexpr IntRange kAtLeastOne{.min = 1, .max = INT_MAX};

SettingSpec withFallbackEnv(SettingSpec spec, std::string_view variable) {
  spec.fallback_env = variable;
  return spec;
}

void checkNotEmpty(std::string_view text) {
  if (text.empty()) throw ValueError("may not be empty");
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
      withFallbackEnv(stringSetting({"venv", "--venv",
                                     "Import APP with this virtualenv's site-packages.", "PATH"},
                                    &S::venv),
                      "VIRTUAL_ENV"),
      enumSetting({"lifespan", "--lifespan",
                   "Run the ASGI lifespan protocol; auto carries on if the app does not take it."},
                  &S::lifespan, {Lifespan::kAuto, Lifespan::kOn, Lifespan::kOff}),
      stringSetting({"root_path", "--root-path",
                     "The ASGI root_path, for an app mounted below a URL prefix by a proxy."},
                    &S::root_path),

      // Sockets.
      stringSetting({"host", "--host", "Bind the socket to this address."}, &S::host,
                    checkNotEmpty),
      intSetting({"port", "--port", "Bind the socket to this port; 0 picks a free one."}, &S::port,
                 {.min = 0, .max = 65535}),
      stringSetting({"uds", "--uds", "Bind a Unix domain socket at this path instead.", "PATH"},
                    &S::uds, checkSocketPath),
      intSetting({"backlog", "--backlog", "Connections the kernel queues before accept()."},
                 &S::backlog, {.min = 1, .max = 65535}),

      // Logging.
      enumSetting({"log_level", "--log-level", "Log messages of this level and above."},
                  &S::log_level,
                  {LogLevel::kTrace, LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarning,
                   LogLevel::kError, LogLevel::kCritical}),
      switchSetting({"access_log", "--access-log/--no-access-log", "Log one line per request."},
                    &S::access_log),

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

void checkSocketPath(std::string_view text) {
  constexpr size_t kMax = sizeof(sockaddr_un::sun_path) - 1;
  if (text.size() > kMax) {
    throw ValueError(quote(text) + " is longer than " + std::to_string(kMax) +
                     " bytes, the most a Unix socket path can have");
  }
}

}  // namespace asgid::config
