// Serialises a response head (RFC 9112 section 4 status line + fields) and decides how the
// body is framed. Knows nothing of Python or sockets.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace asgid::http {

using Header = std::pair<std::string, std::string>;

// How the response body is delimited on the wire (RFC 9112 section 6).
enum class Framing {
  kNone,           // no body: HEAD, 1xx, 204, 304
  kContentLength,  // exactly `content_length` bytes
  kChunked,        // Transfer-Encoding: chunked (HTTP/1.1 only)
  kUntilClose,     // HTTP/1.0 without a length: the end of the connection ends the body
};

// Whether `name` is a valid field name (an RFC 9110 token) and `value` holds no CR, LF or NUL,
// so that nothing the app sends can split the response (header injection).
bool isValidFieldName(std::string_view name);
bool isValidFieldValue(std::string_view value);

// Whether a comma-separated field value (Connection, Upgrade) lists `token`, ignoring ASCII
// case and blanks around the items (RFC 9110 5.6.1).
bool containsTokenIgnoreCase(std::string_view list, std::string_view token);

// The reason phrase for a status code ("" if unknown: the status line still is valid).
std::string_view reasonPhrase(int status);

struct ResponsePlan {
  Framing framing = Framing::kNone;
  uint64_t content_length = 0;  // with kContentLength
  bool keep_alive = true;       // false: close after this response
};

struct ResponseHeadInput {
  int status = 200;
  const std::vector<Header>* app_headers = nullptr;  // validated by the caller
  bool request_is_head = false;
  bool request_keep_alive = true;
  bool http10 = false;
  // The length of the body if the app gave its whole body with the start (more_body false on
  // the first body message), so a Content-Length can be added for it.
  std::optional<uint64_t> whole_body_length;
  std::string_view date;                               // "" = no Date header
  std::string_view server;                             // "" = no Server header
  const std::vector<Header>* extra_headers = nullptr;  // --header, may be null
  bool force_close = false;  // the server is shutting down or the request body is unread
};

// Appends the status line and headers to `out` and returns how the body is framed.
ResponsePlan writeResponseHead(const ResponseHeadInput& input, std::string& out);

// Appends a complete short response (used for errors the server answers itself: 400, 408,
// 413, 414, 431, 500, 503, 505), always with `connection: close`.
// For a HEAD request (`head_request`) the headers go without the body (RFC 9110 9.3.2).
// `extra` (optional, validated) adds headers, such as a 426's Sec-WebSocket-Version.
void writeSimpleResponse(int status, std::string_view date, std::string_view server,
                         bool head_request, std::string& out,
                         const std::vector<Header>* extra = nullptr);
// The status line and headers of a response, as they are, and the blank line (the caller
// frames what follows: a 101's new protocol).
void writeRawHead(int status, const std::vector<Header>& headers, std::string_view date,
                  std::string_view server, std::string& out);

// The IMF-fixdate for `unix_seconds` (RFC 9110 section 5.6.7), e.g.
// "Sun, 06 Nov 1994 08:49:37 GMT".
std::string httpDate(int64_t unix_seconds);

}  // namespace asgid::http
