// --access-log-format: gunicorn's access-log atoms, compiled once at startup into a list of
// pieces, and rendered per request without parsing the format again.
//
// Principle: the access line is on every request's path. The default line (asgid's own, as
// before) has a dedicated renderer; a custom format is a flat vector of literals and atoms; the
// json preset writes one JSON object. Everything taken from the request is escaped (control
// characters, quotes, backslashes and bytes above 0x7e as \xNN), so a client cannot forge a line
// or break a quoted field; missing values are "-" as in gunicorn.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace asgid::log {

// What one request contributes to its access line. The views and pointers are valid for the
// render() call only.
struct AccessRecord {
  std::string_view peer_host;  // "unix" on a Unix socket
  int peer_port = 0;
  std::string_view method;
  std::string_view target;  // as the client sent it (path and query)
  int http_major = 1;
  int http_minor = 1;
  int status = 0;
  uint64_t body_bytes = 0;
  uint64_t duration_ns = 0;
  // Request headers with lowercase names; response headers as the app gave them.
  const std::vector<std::pair<std::string, std::string>>* request_headers = nullptr;
  const std::vector<std::pair<std::string, std::string>>* response_headers = nullptr;
  const std::vector<std::pair<std::string, std::string>>* extra_response_headers = nullptr;
};

class AccessLogFormat {
 public:
  // asgid's line: client:port - "METHOD target HTTP/x.y" status bytes duration.
  AccessLogFormat();
  // "default" (or ""), "common", "combined", "json", or a format with gunicorn's atoms
  // (%(h)s %(l)s %(u)s %(t)s %(r)s %(m)s %(U)s %(q)s %(H)s %(s)s %(b)s %(B)s %(f)s %(a)s %(T)s
  // %(M)s %(D)s %(L)s %(p)s, %({header}i)s, %({header}o)s, %({variable}e)s, and %% for a
  // percent sign). Throws std::invalid_argument naming the bad atom.
  static AccessLogFormat compile(std::string_view spec);

  // Appends the line (no newline). `color`: the status in ANSI colour (default line only).
  void render(const AccessRecord& record, std::string& out, bool color = false) const;
  // Whether this is asgid's default line (written after the usual "[time] [pid]" prefix);
  // every other format is the whole line.
  bool isDefault() const { return default_; }

  enum class Atom {
    kLiteral,
    kRemoteAddress,   // h
    kDash,            // l
    kUser,            // u: the Basic auth user name
    kTime,            // t: [10/Oct/2000:13:55:36 +0000]
    kRequestLine,     // r
    kMethod,          // m
    kPath,            // U
    kQuery,           // q
    kProtocol,        // H
    kStatus,          // s
    kBytesOrDash,     // b
    kBytes,           // B
    kReferer,         // f
    kUserAgent,       // a
    kSeconds,         // T
    kMilliseconds,    // M
    kMicroseconds,    // D
    kDecimalSeconds,  // L
    kPid,             // p
    kRequestHeader,   // {name}i
    kResponseHeader,  // {name}o
    kJson,            // the json preset: one JSON object
  };
  struct Piece {
    Atom atom;
    std::string text;  // kLiteral: the text; header atoms: the lowercase name
  };
  const std::vector<Piece>& pieces() const { return pieces_; }

 private:
  void renderDefault(const AccessRecord& record, std::string& out, bool color) const;
  void renderJson(const AccessRecord& record, std::string& out) const;

  std::vector<Piece> pieces_;
  bool default_ = false;
};

// Appends `text` escaped for a text access line: control characters, '"', '\' and bytes above
// 0x7e as \xNN.
void appendEscaped(std::string_view text, std::string& out);

// The user name of an "Authorization: Basic" value, or empty.
std::string basicAuthUser(std::string_view authorization);

}  // namespace asgid::log
