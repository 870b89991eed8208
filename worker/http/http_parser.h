// Principle: the HTTP/1.1 request parser is pure. Bytes go in, events come out through
// ParserCallbacks, and a status tells the caller what to do next; it never touches a socket,
// a timer or Python. It wraps llhttp in strict mode (no lenient flags: each one is a
// request-smuggling risk) and adds the limits llhttp does not have.
//
// One message at a time: after a message completes the parser stops (feed() returns
// kMessageComplete with the bytes it consumed) so pipelined requests are answered in order;
// the connection calls nextMessage() when it is ready for the next one.
#pragma once

#include <llhttp.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace asgid::http {

struct ParserLimits {
  size_t max_target = 8190;           // request target bytes (414 beyond)
  size_t max_fields = 100;            // header fields (431 beyond)
  size_t max_field_size = 8190;       // one field's name + value bytes (431 beyond)
  size_t max_headers_size = 65536;    // all names + values together (431 beyond)
};

// A request's head, complete once onHeadersComplete is called.
struct RequestHead {
  std::string method;  // as sent, e.g. "GET"
  std::string target;  // the raw request target, e.g. "/a%20b?x=1"
  int http_major = 1;
  int http_minor = 1;
  // Header names lowercased; values as sent (surrounding whitespace trimmed by llhttp);
  // order and duplicates kept.
  std::vector<std::pair<std::string, std::string>> headers;
  bool keep_alive = true;        // per RFC 9112 9.3 (version and Connection header)
  bool chunked = false;          // Transfer-Encoding: chunked
  std::optional<uint64_t> content_length;
  bool expect_continue = false;  // Expect: 100-continue (HTTP/1.1 only)
  bool upgrade = false;          // Connection: upgrade with an Upgrade header
};

class ParserCallbacks {
 public:
  virtual ~ParserCallbacks() = default;
  // The head is complete and valid. The callee may move from `head`.
  virtual void onRequestHead(RequestHead& head) = 0;
  // A piece of the body (after de-chunking). `data` points into the buffer given to feed().
  virtual void onBody(std::string_view data) = 0;
  // The whole message, body included, has been read.
  virtual void onMessageComplete() = 0;
};

enum class ParseStatus {
  kNeedMore,         // all bytes consumed, the message is not complete yet
  kMessageComplete,  // a message completed; bytes after `consumed` belong to the next one
  kUpgrade,          // the head asked for an upgrade; bytes after `consumed` are not HTTP
  kError,            // bad input: answer `error_status` and close
};

struct ParseResult {
  ParseStatus status = ParseStatus::kNeedMore;
  size_t consumed = 0;
  int error_status = 0;             // 400, 413, 414, 431 or 505 with kError
  const char* error_reason = "";    // a short static description for the log
};

class HttpParser {
 public:
  HttpParser(ParserCallbacks& callbacks, const ParserLimits& limits);
  HttpParser(const HttpParser&) = delete;
  HttpParser& operator=(const HttpParser&) = delete;

  // Parses as much of `data` as belongs to the current message. Errors are sticky until
  // nextMessage() is called (which a connection never does after an error: it closes).
  ParseResult feed(const char* data, size_t len);

  // After kMessageComplete: get ready for the next message on the same connection.
  void nextMessage();

  // Whether any byte of the current message has been seen (for the header-read timeout: a
  // connection idle between requests is "keep-alive idle", one mid-head is "reading headers").
  bool messageStarted() const { return started_; }
  bool headComplete() const { return head_complete_; }

  // Called by the connection when the peer closed its side: a message whose end is the end of
  // the connection is now complete; one cut short is an error.
  ParseResult finish();

 private:
  // llhttp callbacks (static trampolines live in the .cc).
  friend struct ParserTrampolines;

  llhttp_t parser_;
  llhttp_settings_t settings_;
  ParserCallbacks& callbacks_;
  ParserLimits limits_;
  RequestHead head_;
  std::string field_;  // header name being read (split callbacks append)
  std::string value_;  // header value being read
  size_t headers_bytes_ = 0;
  bool started_ = false;
  bool head_complete_ = false;
  int pending_status_ = 0;  // set by a callback that rejects input (414, 431, 505)
  const char* pending_reason_ = "";
};

}  // namespace asgid::http
