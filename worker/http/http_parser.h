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

// The --limit-request-* settings. No defaults here: the settings hold them (made with
// http::parserLimits(settings) in worker/http/http_server.h).
struct ParserLimits {
  size_t max_target;        // request target bytes (414 beyond)
  size_t max_fields;        // header fields (431 beyond)
  size_t max_field_size;    // one field's name + value bytes (431 beyond)
  size_t max_headers_size;  // all names + values together (431 beyond)
};

// A request's head, complete once onHeadersComplete is called.
struct RequestHead {
  std::string method;  // as sent, e.g. "GET"; one llhttp knows (others are refused with 501)
  // The request target in origin-form, e.g. "/a%20b?x=1" (bytes as sent), or "*" for
  // OPTIONS. An absolute-form target ("http://h/p?q", RFC 9112 3.2.2) is rewritten to its
  // origin-form ("/p?q"; "/" when the path is empty) and its authority becomes the Host header,
  // so nothing after the parser needs to know the absolute form.
  std::string target;
  // The target as sent when the parser rewrote it (absolute-form), for the access log to show
  // what the client sent; empty when `target` is exactly what was sent.
  std::string original_target;
  int http_major = 1;
  int http_minor = 1;
  // Header names lowercased; values as sent with surrounding whitespace (OWS) trimmed;
  // order and duplicates kept. Exactly one "host" field on HTTP/1.1, at most one on HTTP/1.0,
  // with a valid value (RFC 9112 3.2); for an absolute-form target its value is the target's
  // authority (added at the end when the request had none).
  std::vector<std::pair<std::string, std::string>> headers;
  bool keep_alive = true;  // per RFC 9112 9.3 (version and Connection header)
  bool chunked = false;    // Transfer-Encoding: chunked
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
  int error_status = 0;           // 400, 414, 431, 501 or 505 with kError
  const char* error_reason = "";  // a short static description for the log
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
  // llhttp callbacks (static trampolines live in the .cc). Each returns 0 to go on, or
  // reject()'s value to stop llhttp with a status of ours.
  friend struct ParserTrampolines;
  int onMessageBegin();
  int onUrl(const char* at, size_t len);
  int onUrlComplete();
  int onVersion(const char* at, size_t len);
  int onVersionComplete();
  int onHeaderField(const char* at, size_t len);
  int onHeaderFieldComplete();
  int onHeaderValue(const char* at, size_t len);
  int onHeaderValueComplete();
  int onHeadersComplete();
  int onBody(const char* at, size_t len);
  int onMessageComplete();

  int reject(int status, const char* reason);
  int checkTarget();
  int checkAbsoluteForm();
  int checkHost();
  int useAuthorityAsHost(std::pair<std::string, std::string>* host);
  ParseResult methodVerdict(size_t len);
  size_t scanMethod(const char* at, size_t len);
  void scanTarget(const char* at, size_t len);
  int beginField();
  int countFieldBytes(size_t len);
  void fillHead();
  bool versionSupported() const;
  ParseResult execute(const char* data, size_t len);
  ParseResult failFromLlhttp(llhttp_errno_t err, size_t consumed);
  ParseResult fail(int status, const char* reason, size_t consumed);
  size_t scanHead(const char* data, size_t len);
  size_t scanLine(const char* data, size_t i, size_t len);
  void addLineBytes(const char* at, size_t len);
  size_t scanFail(size_t at, const char* reason);
  const char* endHeadLine();
  void resetMessage();

  // The request line's method token, checked on its bytes (RFC 9110 9.1, 5.6.2): llhttp only
  // knows a fixed list and fails the others as soon as a byte leaves it, before it is known
  // whether they are a valid token (501) or garbage (400).
  enum class MethodScan : uint8_t {
    kPending,  // no SP yet, all tchar so far
    kKnown,    // a method llhttp parses as HTTP
    kUnknown,  // a valid token followed by SP, not one we implement: 501 (line permitting)
    kInvalid,  // empty, too long, or a byte that is not a tchar before the SP: 400
  };
  // What the head scanner knows about the current message's head. llhttp tolerates a few
  // line-level forms that RFC 9112 lets a server reject and that proxies read differently
  // (obs-fold, bare CR or LF, a request line that is not "... HTTP/x.y"); the scanner checks
  // them on the head's bytes before llhttp acts on them.
  struct HeadScan {
    MethodScan method = MethodScan::kPending;
    uint8_t method_len = 0;
    char method_bytes[16] = {};       // the token's first bytes (known methods are shorter)
    uint64_t request_line_bytes = 0;  // without CRLF and the empty lines before it
    uint64_t target_bytes = 0;        // after an unknown method: the target's, up to its SP
    bool target_done = false;         // the SP after the target was seen
    bool cr = false;                  // the previous byte was CR
    bool line_used = false;           // the current line has a byte other than CR/LF
    bool done = false;                // the empty line that ends the head was seen
    uint32_t line = 0;                // 0 = the request line
    uint64_t tail = 0;                // the request line's last 8 bytes
  };
  enum class FieldKind : uint8_t { kOther, kTransferEncoding, kExpect };

  llhttp_t parser_;
  ParserCallbacks& callbacks_;
  ParserLimits limits_;
  RequestHead head_;
  HeadScan scan_;
  const char* scan_reason_ = nullptr;  // set when the scanner rejected the head
  size_t field_count_ = 0;             // fields (and trailer fields) of this message
  size_t field_bytes_ = 0;             // name + value bytes of the field being read
  size_t headers_bytes_ = 0;           // name + value bytes of all fields so far
  FieldKind field_kind_ = FieldKind::kOther;
  bool field_open_ = false;  // a field's name has begun, its value is not complete
  char version_[4] = {};     // the version digits as sent ("1.1"), for 400 vs 505
  size_t version_len_ = 0;
  bool version_complete_ = false;
  bool expect_continue_ = false;
  bool keep_alive_ = true;  // of the current message (head_ may be moved from)
  bool started_ = false;
  bool head_complete_ = false;
  bool message_complete_ = false;  // paused after a message: nextMessage() resumes
  bool upgraded_ = false;          // paused after an upgrade head
  bool closed_ = false;            // the last message ended the connection
  // llhttp failed on a method it does not know before the request line's end was seen: only
  // the scanner runs until it can tell 501 from 400.
  bool method_wait_ = false;
  size_t authority_begin_ = 0;  // of an absolute-form target, in head_.original_target
  size_t authority_len_ = 0;
  int pending_status_ = 0;  // set by a callback that rejects input
  const char* pending_reason_ = "";
  ParseResult error_;  // kError once an error happened (sticky)
};

}  // namespace asgid::http
