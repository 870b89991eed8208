#include "worker/http/response_head.h"

#include <time.h>

#include <charconv>
#include <cstdio>

#include "common/ascii.h"

namespace asgid::http {
namespace {

// RFC 9110 section 5.6.2: tchar.
bool isTokenChar(unsigned char c) {
  if (c >= '0' && c <= '9') return true;
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

void appendNumber(std::string& out, uint64_t value) {
  char buffer[24];
  auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  out.append(buffer, result.ptr);
}

void appendStatusLine(std::string& out, int status) {
  out += "HTTP/1.1 ";
  appendNumber(out, static_cast<uint64_t>(status));
  out += ' ';
  out += reasonPhrase(status);
  out += "\r\n";
}

void appendHeader(std::string& out, std::string_view name, std::string_view value) {
  out += name;
  out += ": ";
  out += value;
  out += "\r\n";
}

// What the app's own headers say about framing.
struct AppFraming {
  std::optional<uint64_t> content_length;
  bool chunked = false;
  bool close = false;
  bool has_server = false;  // the app's own Server / Date replace ours
  bool has_date = false;
};

AppFraming scanAppHeaders(const std::vector<Header>& headers) {
  AppFraming found;
  for (const auto& [name, value] : headers) {
    if (equalsIgnoreCase(name, "content-length")) {
      uint64_t length = 0;
      auto result = std::from_chars(value.data(), value.data() + value.size(), length);
      if (result.ec == std::errc() && result.ptr == value.data() + value.size()) {
        found.content_length = length;
      }
    } else if (equalsIgnoreCase(name, "transfer-encoding")) {
      found.chunked = containsTokenIgnoreCase(value, "chunked");
    } else if (equalsIgnoreCase(name, "connection")) {
      found.close = found.close || containsTokenIgnoreCase(value, "close");
    } else if (equalsIgnoreCase(name, "server")) {
      found.has_server = true;
    } else if (equalsIgnoreCase(name, "date")) {
      found.has_date = true;
    }
  }
  return found;
}

}  // namespace

bool containsTokenIgnoreCase(std::string_view list, std::string_view token) {
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    std::string_view item =
        list.substr(start, comma == std::string_view::npos ? list.npos : comma - start);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (equalsIgnoreCase(item, token)) return true;
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return false;
}

bool isValidFieldName(std::string_view name) {
  if (name.empty()) return false;
  for (unsigned char c : name) {
    if (!isTokenChar(c)) return false;
  }
  return true;
}

bool isValidFieldValue(std::string_view value) {
  for (unsigned char c : value) {
    if (c == '\r' || c == '\n' || c == '\0') return false;
  }
  return true;
}

std::string_view reasonPhrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 101:
      return "Switching Protocols";
    case 103:
      return "Early Hints";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 203:
      return "Non-Authoritative Information";
    case 204:
      return "No Content";
    case 205:
      return "Reset Content";
    case 206:
      return "Partial Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 406:
      return "Not Acceptable";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 411:
      return "Length Required";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 416:
      return "Range Not Satisfiable";
    case 417:
      return "Expectation Failed";
    case 421:
      return "Misdirected Request";
    case 422:
      return "Unprocessable Content";
    case 425:
      return "Too Early";
    case 426:
      return "Upgrade Required";
    case 428:
      return "Precondition Required";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 451:
      return "Unavailable For Legal Reasons";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "";
  }
}

namespace {

// How the body is delimited, from the request and what the app's headers say (RFC 9112 6.3):
// the app's Content-Length wins; else a whole body gets one; else a stream is chunked on
// HTTP/1.1 and delimited by closing on HTTP/1.0.
ResponsePlan planFraming(const ResponseHeadInput& input, const AppFraming& app) {
  ResponsePlan plan;
  plan.keep_alive = input.request_keep_alive && !app.close && !input.force_close;
  if (input.request_is_head || input.status < 200 || input.status == 204 || input.status == 304) {
    plan.framing = Framing::kNone;
  } else if (app.content_length) {
    plan.framing = Framing::kContentLength;
    plan.content_length = *app.content_length;
  } else if (app.chunked && !input.http10) {
    plan.framing = Framing::kChunked;
  } else if (input.whole_body_length) {
    plan.framing = Framing::kContentLength;
    plan.content_length = *input.whole_body_length;
  } else if (!input.http10) {
    plan.framing = Framing::kChunked;
  } else {
    plan.framing = Framing::kUntilClose;
    plan.keep_alive = false;
  }
  return plan;
}

// Whether an app header that speaks of framing may go out with this plan. Transfer-Encoding
// only with chunked framing (never to HTTP/1.0, RFC 9112 6.1, nor beside a Content-Length,
// 6.2); neither field on a 1xx or 204 (RFC 9110 8.6, RFC 9112 6.1).
bool framingHeaderAllowed(std::string_view name, const ResponsePlan& plan, int status) {
  if (equalsIgnoreCase(name, "transfer-encoding")) {
    return plan.framing == Framing::kChunked;
  }
  if (equalsIgnoreCase(name, "content-length")) return status >= 200 && status != 204;
  return true;
}

}  // namespace

ResponsePlan writeResponseHead(const ResponseHeadInput& input, std::string& out) {
  const AppFraming app = scanAppHeaders(*input.app_headers);
  const ResponsePlan plan = planFraming(input, app);

  appendStatusLine(out, input.status);
  if (!input.server.empty() && !app.has_server) appendHeader(out, "server", input.server);
  if (!input.date.empty() && !app.has_date) appendHeader(out, "date", input.date);
  if (input.extra_headers != nullptr) {
    for (const auto& [name, value] : *input.extra_headers) appendHeader(out, name, value);
  }
  for (const auto& [name, value] : *input.app_headers) {
    if (framingHeaderAllowed(name, plan, input.status)) appendHeader(out, name, value);
  }

  const bool ours_length = !app.content_length && input.whole_body_length;
  if (plan.framing == Framing::kNone) {
    // HEAD: the length the same GET would have (RFC 9110 9.3.2), when the app gave it whole.
    if (input.request_is_head && ours_length && !app.chunked && input.status >= 200 &&
        input.status != 204 && input.status != 304) {
      out += "content-length: ";
      appendNumber(out, *input.whole_body_length);
      out += "\r\n";
    }
  } else if (plan.framing == Framing::kContentLength && ours_length) {
    out += "content-length: ";
    appendNumber(out, plan.content_length);
    out += "\r\n";
  } else if (plan.framing == Framing::kChunked && !app.chunked) {
    out += "transfer-encoding: chunked\r\n";
  }

  if (!plan.keep_alive && !app.close) {
    out += "connection: close\r\n";
  } else if (plan.keep_alive && input.http10) {
    out += "connection: keep-alive\r\n";
  }
  out += "\r\n";
  return plan;
}

void writeSimpleResponse(int status, std::string_view date, std::string_view server,
                         bool head_request, std::string& out, const std::vector<Header>* extra) {
  std::string_view reason = reasonPhrase(status);
  appendStatusLine(out, status);
  if (!server.empty()) appendHeader(out, "server", server);
  if (!date.empty()) appendHeader(out, "date", date);
  if (extra != nullptr) {
    for (const auto& [name, value] : *extra) appendHeader(out, name, value);
  }
  out += "content-type: text/plain; charset=utf-8\r\nconnection: close\r\ncontent-length: ";
  appendNumber(out, reason.size() + 1);
  out += "\r\n\r\n";
  if (head_request) return;  // RFC 9110 9.3.2: the headers of a GET, never its body
  out += reason;
  out += '\n';
}

void writeRawHead(int status, const std::vector<Header>& headers, std::string_view date,
                  std::string_view server, std::string& out) {
  appendStatusLine(out, status);
  if (!server.empty()) appendHeader(out, "server", server);
  if (!date.empty()) appendHeader(out, "date", date);
  for (const auto& [name, value] : headers) appendHeader(out, name, value);
  out += "\r\n";
}

std::string httpDate(int64_t unix_seconds) {
  // Fixed English names: strftime's %a and %b follow the locale, which an app may change.
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  time_t seconds = static_cast<time_t>(unix_seconds);
  struct tm parts;
  gmtime_r(&seconds, &parts);
  char buffer[40];
  int length = snprintf(buffer, sizeof buffer, "%s, %02d %s %04d %02d:%02d:%02d GMT",
                        kDays[parts.tm_wday], parts.tm_mday, kMonths[parts.tm_mon],
                        parts.tm_year + 1900, parts.tm_hour, parts.tm_min, parts.tm_sec);
  return std::string(buffer, static_cast<size_t>(length));
}

}  // namespace asgid::http
