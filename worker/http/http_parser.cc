// Principle: llhttp does the byte-level parsing; this file adds what a server needs around it.
// - Limits (414, 431) are checked in the span callbacks before a byte is stored.
// - Stricter input rules than llhttp's: header names are tokens (RFC 9110 5.1), no obs-fold
//   (RFC 9112 5.2), every line of the head ends in CRLF (RFC 9112 2.2), the only transfer coding
//   is a single "chunked" (RFC 9112 6.1), only HTTP/1.0 and HTTP/1.1 are served (505), CONNECT
//   is refused. Each of these is a request-smuggling or cache-poisoning vector when a proxy in
//   front reads the message differently.
// - The request target and Host (RFC 9112 3.2): one valid Host, no fragment, "*" only for
//   OPTIONS, absolute-form only for http/https and rewritten to origin-form with its authority as
//   the Host, so what comes after the parser sees one form and one authority.
// - A method that is a valid token but not one llhttp knows is 501, decided on the request
//   line's bytes (llhttp fails it at the first byte that leaves its list).
// - One message at a time: on_message_complete pauses llhttp, so feed() stops at the message's
//   end and reports how many bytes it took; nextMessage() resumes.
// llhttp 8 is expected to be built with LLHTTP_STRICT_MODE=1: the loose build skips the CRLF
// after chunk data and accepts a CR followed by any byte at the end of the head and of
// chunk-size lines, which the head scanner here does not cover for bodies. llhttp 9 makes those
// checks unless a lenient flag is set, and none is.
#include "worker/http/http_parser.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace asgid::http {
namespace {

// Header fields kept from the first request on: most requests have fewer.
constexpr size_t kInitialFields = 16;

[[noreturn]] void misuse(const char* what) {
  std::fprintf(stderr, "asgid: HttpParser misuse: %s\n", what);
  std::abort();
}

// RFC 9110 5.6.2: tchar, lowercased; 0 for the bytes a field name cannot have.
constexpr std::array<char, 256> makeNameTable() {
  std::array<char, 256> table{};
  for (int c = '0'; c <= '9'; ++c) table[c] = static_cast<char>(c);
  for (int c = 'a'; c <= 'z'; ++c) table[c] = static_cast<char>(c);
  for (int c = 'A'; c <= 'Z'; ++c) table[c] = static_cast<char>(c | 0x20);
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) table[static_cast<unsigned char>(c)] = c;
  return table;
}
constexpr std::array<char, 256> kNameChars = makeNameTable();

// Bytes of `at` before the first one `valid` rejects: limits are checked on that prefix first,
// so the status does not depend on how the input was split across feed() calls.
template <typename Valid>
size_t validPrefix(const char* at, size_t len, Valid valid) {
  size_t i = 0;
  while (i < len && valid(static_cast<unsigned char>(at[i]))) ++i;
  return i;
}

bool isTargetChar(unsigned char c) {
  return c > 0x20 && c < 0x7f;
}
bool isTokenChar(unsigned char c) {
  return kNameChars[c] != 0;
}
bool isOws(char c) {
  return c == ' ' || c == '\t';
}

char toLower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c | 0x20) : c;
}

// Appends `at` lowercased; false (with `out` unchanged) if a byte is not a tchar.
bool appendName(std::string& out, const char* at, size_t len) {
  const size_t old_size = out.size();
  out.resize(old_size + len);
  for (size_t i = 0; i < len; ++i) {
    const char c = kNameChars[static_cast<unsigned char>(at[i])];
    if (c == 0) {
      out.resize(old_size);
      return false;
    }
    out[old_size + i] = c;
  }
  return true;
}

bool isName(const char* at, size_t len) {
  return validPrefix(at, len, isTokenChar) == len;
}

void trimOws(std::string& value) {
  size_t end = value.size();
  while (end > 0 && isOws(value[end - 1])) --end;
  size_t begin = 0;
  while (begin < end && isOws(value[begin])) ++begin;
  value.erase(end);
  value.erase(0, begin);
}

// `lower` is lowercase ASCII.
bool equalsIgnoreCase(std::string_view text, std::string_view lower) {
  if (text.size() != lower.size()) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    if (toLower(text[i]) != lower[i]) return false;
  }
  return true;
}

// The request line must end in "HTTP/" and three more bytes (RFC 9112 3): llhttp also takes
// "RTSP/x.y" and "ICE/x.y", and "GET /" alone as HTTP/0.9.
bool endsWithHttpVersion(uint64_t tail) {
  constexpr uint64_t kHttpSlash = 0x485454502fULL;  // "HTTP/"
  return (tail >> 24) == kHttpSlash;
}

bool isDigit(char c) {
  return c >= '0' && c <= '9';
}

bool isHexDigit(char c) {
  return isDigit(c) || (toLower(c) >= 'a' && toLower(c) <= 'f');
}

// RFC 3986 2.3 unreserved and 2.2 sub-delims: the bytes of a reg-name (3.2.2) besides
// pct-encoded ones. IPv4 addresses are made of them too.
bool isRegNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || isDigit(c) ||
         std::string_view("-._~!$&'()*+,;=").find(c) != std::string_view::npos;
}

// Inside "[...]": IPv6address or IPvFuture (RFC 3986 3.2.2). Only the characters are checked;
// the app gets the value as sent.
bool isIpLiteralChar(char c) {
  return isRegNameChar(c) || c == ':';
}

constexpr size_t kInvalidHost = std::string_view::npos;

// RFC 9110 7.2 / RFC 3986 3.2.2-3.2.3: uri-host [ ":" port ]. Returns the length of the host
// part (0 for an empty reg-name, which RFC 9112 3.2 allows in a Host header), or kInvalidHost:
// "a b", "a/b" and userinfo ("a@b") are not hosts.
size_t hostLength(std::string_view value) {
  size_t i = 0;
  if (!value.empty() && value[0] == '[') {
    for (i = 1; i < value.size() && isIpLiteralChar(value[i]);) ++i;
    if (i == 1 || i == value.size() || value[i] != ']') return kInvalidHost;
    ++i;
  } else {
    while (i < value.size() && value[i] != ':') {
      if (value[i] == '%') {
        if (i + 2 >= value.size() || !isHexDigit(value[i + 1]) || !isHexDigit(value[i + 2])) {
          return kInvalidHost;
        }
        i += 3;
      } else if (isRegNameChar(value[i])) {
        ++i;
      } else {
        return kInvalidHost;
      }
    }
  }
  const size_t host_len = i;
  if (i < value.size()) {
    if (value[i] != ':') return kInvalidHost;
    for (++i; i < value.size(); ++i) {
      if (!isDigit(value[i])) return kInvalidHost;
    }
  }
  return host_len;
}

// The methods llhttp parses as HTTP, from its public method table (RTSP-only methods and PRI
// are not in it). Methods are case-sensitive (RFC 9110 9.1): "get" is not GET.
bool isKnownMethod(std::string_view token) {
#define ASGID_METHOD_NAME(num, name, string) #string,
  static constexpr std::string_view kMethods[] = {HTTP_METHOD_MAP(ASGID_METHOD_NAME)};
#undef ASGID_METHOD_NAME
  for (std::string_view method : kMethods) {
    if (method == token) return true;
  }
  return false;
}

// A longer token is not taken for a method: the scanner stops waiting for its end.
constexpr size_t kMaxMethodLength = 64;
// " HTTP/1.1" at the end of a request line.
constexpr size_t kVersionBytes = 9;

struct ErrorMapping {
  int status;
  const char* reason;
};

// llhttp's own errors (its reason text is dynamic; ours are static, for logs and metrics).
ErrorMapping mapLlhttpError(llhttp_errno_t err, uint16_t flags) {
  switch (err) {
    case HPE_INVALID_METHOD:
      return {400, "invalid method"};
    case HPE_INVALID_URL:
      return {400, "invalid request target"};
    case HPE_INVALID_CONSTANT:
      return {400, "malformed request line"};
    case HPE_INVALID_VERSION:
      return {400, "invalid http version"};
    case HPE_INVALID_HEADER_TOKEN:
      return {400, "invalid character in header"};
    // llhttp 9 reports both headers (RFC 9112 6.3) as an invalid Content-Length when it comes
    // after Transfer-Encoding, and as an invalid Transfer-Encoding the other way round; 8.1 as
    // HPE_UNEXPECTED_CONTENT_LENGTH. The log says the same on both.
    case HPE_INVALID_CONTENT_LENGTH:
      return {400, (flags & F_TRANSFER_ENCODING) != 0 ? "content-length with transfer-encoding"
                                                      : "invalid content-length"};
    case HPE_UNEXPECTED_CONTENT_LENGTH:
      // RFC 9112 6.3: both headers, or two Content-Length fields (even with equal values:
      // llhttp refuses any second one).
      return {400, (flags & F_TRANSFER_ENCODING) != 0 ? "content-length with transfer-encoding"
                                                      : "duplicate content-length"};
    case HPE_INVALID_TRANSFER_ENCODING:
      return {400, (flags & F_CONTENT_LENGTH) != 0 ? "content-length with transfer-encoding"
                                                   : "invalid transfer-encoding"};
    case HPE_INVALID_CHUNK_SIZE:
      return {400, "invalid chunk size"};
    case HPE_STRICT:
      return {400, "missing CRLF"};
    case HPE_CR_EXPECTED:
      return {400, "expected CR"};
    case HPE_LF_EXPECTED:
      return {400, "bare CR"};
    case HPE_UNEXPECTED_SPACE:
      return {400, "unexpected space"};
    case HPE_CLOSED_CONNECTION:
      return {400, "data after connection close"};
    case HPE_INVALID_EOF_STATE:
      return {400, "incomplete request"};
    case HPE_PAUSED_H2_UPGRADE:
      return {505, "http/2 connection preface"};
    default:
      return {400, "malformed request"};
  }
}

}  // namespace

// llhttp calls plain functions; these forward to the parser stored in llhttp_t::data.
struct ParserTrampolines {
  static HttpParser& self(llhttp_t* p) { return *static_cast<HttpParser*>(p->data); }

  static int messageBegin(llhttp_t* p) { return self(p).onMessageBegin(); }
  static int url(llhttp_t* p, const char* at, size_t n) { return self(p).onUrl(at, n); }
  static int urlComplete(llhttp_t* p) { return self(p).onUrlComplete(); }
  static int version(llhttp_t* p, const char* at, size_t n) { return self(p).onVersion(at, n); }
  static int versionComplete(llhttp_t* p) { return self(p).onVersionComplete(); }
  static int field(llhttp_t* p, const char* at, size_t n) { return self(p).onHeaderField(at, n); }
  static int fieldComplete(llhttp_t* p) { return self(p).onHeaderFieldComplete(); }
  static int value(llhttp_t* p, const char* at, size_t n) { return self(p).onHeaderValue(at, n); }
  static int valueComplete(llhttp_t* p) { return self(p).onHeaderValueComplete(); }
  static int headersComplete(llhttp_t* p) { return self(p).onHeadersComplete(); }
  static int body(llhttp_t* p, const char* at, size_t n) { return self(p).onBody(at, n); }
  static int messageComplete(llhttp_t* p) { return self(p).onMessageComplete(); }

  static const llhttp_settings_t* settings() {
    static const llhttp_settings_t kSettings = [] {
      llhttp_settings_t s;
      llhttp_settings_init(&s);
      s.on_message_begin = messageBegin;
      s.on_url = url;
      s.on_url_complete = urlComplete;
      s.on_version = version;
      s.on_version_complete = versionComplete;
      s.on_header_field = field;
      s.on_header_field_complete = fieldComplete;
      s.on_header_value = value;
      s.on_header_value_complete = valueComplete;
      s.on_headers_complete = headersComplete;
      s.on_body = body;
      s.on_message_complete = messageComplete;
      return s;
    }();
    return &kSettings;
  }
};

HttpParser::HttpParser(ParserCallbacks& callbacks, const ParserLimits& limits)
    : callbacks_(callbacks), limits_(limits) {
  // No llhttp_set_lenient_*: every lenient flag is a request-smuggling risk.
  llhttp_init(&parser_, HTTP_REQUEST, ParserTrampolines::settings());
  parser_.data = this;
}

ParseResult HttpParser::feed(const char* data, size_t len) {
  if (error_.status == ParseStatus::kError) return error_;
  if (len == 0) return {};
  if (message_complete_) misuse("feed() after kMessageComplete/kUpgrade without nextMessage()");
  if (closed_) return fail(400, "data after connection close", 0);
  scan_reason_ = nullptr;
  if (method_wait_) {
    scanHead(data, len);
    return methodVerdict(len);
  }
  // llhttp only sees the bytes before a head error, so an earlier error of its own wins.
  const size_t checked = scan_.done ? len : scanHead(data, len);
  ParseResult result = checked > 0 ? execute(data, checked) : ParseResult{};
  if (scan_reason_ != nullptr && result.status != ParseStatus::kError) {
    return fail(400, scan_reason_, checked);
  }
  return result;
}

void HttpParser::nextMessage() {
  if (error_.status == ParseStatus::kError) {
    llhttp_reset(&parser_);
    error_ = {};
    closed_ = false;
  } else if (!message_complete_) {
    misuse("nextMessage() before kMessageComplete");
  } else if (upgraded_) {
    // The connection declined the upgrade: the head had no body, so HTTP goes on after it.
    llhttp_resume_after_upgrade(&parser_);
    closed_ = !keep_alive_;
  } else {
    llhttp_resume(&parser_);
    closed_ = !keep_alive_;
  }
  resetMessage();
}

// llhttp_finish() is not used: after the pause in on_message_complete its "finish" state stays
// "unsafe" until the next execute, and a request body never ends at EOF (RFC 9112 6.3), so the
// answer depends only on whether a message is under way.
ParseResult HttpParser::finish() {
  if (error_.status == ParseStatus::kError) return error_;
  if (!started_ || message_complete_) return {};
  return fail(400, "incomplete request", 0);
}

ParseResult HttpParser::execute(const char* data, size_t len) {
  const llhttp_errno_t err = llhttp_execute(&parser_, data, len);
  if (err == HPE_OK) return {ParseStatus::kNeedMore, len};
  const char* pos = llhttp_get_error_pos(&parser_);
  const size_t consumed = pos >= data && pos <= data + len ? static_cast<size_t>(pos - data) : len;
  if (err == HPE_PAUSED && message_complete_) return {ParseStatus::kMessageComplete, consumed};
  if (err == HPE_PAUSED_UPGRADE && message_complete_) {
    upgraded_ = true;
    return {ParseStatus::kUpgrade, consumed};
  }
  // llhttp stops at the first byte that leaves its method list (or, for a method of another
  // protocol, at the version). Whether that is 501 or 400 is the scanner's call. The HTTP/2
  // preface ("PRI * HTTP/2.0") is llhttp's to recognise: 505, not 501.
  if (err != HPE_PAUSED_H2_UPGRADE && pending_status_ == 0 && scan_.method != MethodScan::kKnown) {
    const ParseResult verdict = methodVerdict(len);
    // Undecided: the scanner took every byte (it stopped at none), so all are consumed; it
    // alone reads on until it can tell.
    method_wait_ = verdict.status == ParseStatus::kNeedMore;
    started_ = true;
    return verdict;
  }
  return failFromLlhttp(err, consumed);
}

// After llhttp failed on a method it does not know: 501 for a valid token in a well-formed
// request line ("TOKEN SP ... SP HTTP/x.y CRLF"), 400 when the token or the line is broken
// (RFC 9112 3: an invalid request-line is 400), else keep reading. Decided on the scanner's
// state alone, which does not depend on how the input was split.
ParseResult HttpParser::methodVerdict(size_t len) {
  const ParseResult undecided{ParseStatus::kNeedMore, len};
  switch (scan_.method) {
    case MethodScan::kPending:
      return scan_reason_ == nullptr ? undecided : fail(400, "invalid method", 0);
    case MethodScan::kKnown:
    case MethodScan::kInvalid:
      return fail(400, "invalid method", 0);
    case MethodScan::kUnknown:
      break;
  }
  // llhttp no longer sees the target: bound it the way onUrl does, and the line with it.
  if (scan_.target_bytes > limits_.max_target ||
      scan_.request_line_bytes > kMaxMethodLength + 1 + limits_.max_target + kVersionBytes) {
    return fail(414, "request target too long", 0);
  }
  if (scan_.line > 0) return fail(501, "method not implemented", 0);
  if (scan_reason_ != nullptr) return fail(400, scan_reason_, 0);
  return undecided;
}

ParseResult HttpParser::failFromLlhttp(llhttp_errno_t err, size_t consumed) {
  if (pending_status_ != 0) return fail(pending_status_, pending_reason_, consumed);
  if (err == HPE_INVALID_VERSION && !version_complete_ && version_len_ == 3 &&
      isDigit(version_[0]) && version_[1] == '.' && isDigit(version_[2])) {
    return fail(505, "unsupported http version", consumed);  // well-formed, e.g. HTTP/1.2
  }
  const ErrorMapping mapping = mapLlhttpError(err, parser_.flags);
  return fail(mapping.status, mapping.reason, consumed);
}

ParseResult HttpParser::fail(int status, const char* reason, size_t consumed) {
  error_ = {ParseStatus::kError, consumed, status, reason};
  return error_;
}

int HttpParser::reject(int status, const char* reason) {
  pending_status_ = status;
  pending_reason_ = reason;
  return HPE_USER;
}

// --- Head scanner -------------------------------------------------------------------------

// Returns the offset of the first byte that breaks a line rule (and sets scan_reason_), or
// `len`. Stops at the end of the head: body bytes are llhttp's alone.
size_t HttpParser::scanHead(const char* data, size_t len) {
  size_t i = 0;
  while (i < len && !scan_.done) {
    const char c = data[i];
    if (scan_.line == 0 && !scan_.line_used && !scan_.cr && (c == '\r' || c == '\n')) {
      ++i;  // empty lines before a request (RFC 9112 2.2), as llhttp skips them
    } else if (scan_.cr) {
      scan_.cr = false;
      if (c != '\n') return scanFail(i, "bare CR");
      if (const char* bad = endHeadLine()) return scanFail(i, bad);
      ++i;
    } else if (!scan_.line_used && scan_.line > 0 && isOws(c)) {
      return scanFail(i, "obs-fold line folding");
    } else {
      i = scanLine(data, i, len);
      if (scan_reason_ != nullptr) return i;
    }
  }
  return len;
}

// Takes a line's bytes from data[i] up to and including its CR; the LF is scanHead's. Returns
// where scanning goes on, or scanFail()'s offset.
size_t HttpParser::scanLine(const char* data, size_t i, size_t len) {
  const auto* lf = static_cast<const char*>(std::memchr(data + i, '\n', len - i));
  const size_t end = lf != nullptr ? static_cast<size_t>(lf - data) : len;
  const auto* cr = static_cast<const char*>(std::memchr(data + i, '\r', end - i));
  if (cr == nullptr) {
    addLineBytes(data + i, end - i);
    return lf != nullptr ? scanFail(end, "bare LF") : end;
  }
  const auto cr_at = static_cast<size_t>(cr - data);
  addLineBytes(data + i, cr_at - i);
  if (cr_at + 1 < end) return scanFail(cr_at + 1, "bare CR");
  scan_.cr = true;
  return cr_at + 1;
}

void HttpParser::addLineBytes(const char* at, size_t len) {
  if (len == 0) return;
  scan_.line_used = true;
  if (scan_.line > 0) return;
  scan_.request_line_bytes += len;
  size_t taken = scan_.method == MethodScan::kPending ? scanMethod(at, len) : 0;
  if (scan_.method == MethodScan::kUnknown) scanTarget(at + taken, len - taken);
  for (size_t i = len > 8 ? len - 8 : 0; i < len; ++i) {
    scan_.tail = (scan_.tail << 8) | static_cast<unsigned char>(at[i]);
  }
}

// RFC 9112 3: request-line = method SP request-target SP HTTP-version, and method = token
// (RFC 9110 9.1, 5.6.2).
size_t HttpParser::scanMethod(const char* at, size_t len) {
  size_t i = 0;
  for (; i < len && scan_.method == MethodScan::kPending; ++i) {
    const auto c = static_cast<unsigned char>(at[i]);
    if (c == ' ' && scan_.method_len > 0) {
      const size_t kept = std::min<size_t>(scan_.method_len, sizeof(scan_.method_bytes));
      const bool known =
          scan_.method_len == kept && isKnownMethod(std::string_view(scan_.method_bytes, kept));
      scan_.method = known ? MethodScan::kKnown : MethodScan::kUnknown;
    } else if (!isTokenChar(c) || scan_.method_len >= kMaxMethodLength) {
      scan_.method = MethodScan::kInvalid;
    } else {
      if (scan_.method_len < sizeof(scan_.method_bytes)) {
        scan_.method_bytes[scan_.method_len] = static_cast<char>(c);
      }
      ++scan_.method_len;
    }
  }
  return i;
}

// After a method llhttp does not know, llhttp stops reading: the scanner counts the target's
// bytes itself, so that an overlong target is 414 however the input was split (llhttp's own
// onUrl count depends on where its spans end).
void HttpParser::scanTarget(const char* at, size_t len) {
  for (size_t i = 0; i < len && !scan_.target_done; ++i) {
    if (at[i] == ' ' && scan_.target_bytes > 0) {
      scan_.target_done = true;
    } else if (at[i] != ' ') {
      ++scan_.target_bytes;
    }
  }
}

size_t HttpParser::scanFail(size_t at, const char* reason) {
  scan_reason_ = reason;
  return at;
}

const char* HttpParser::endHeadLine() {
  if (scan_.line == 0 && !endsWithHttpVersion(scan_.tail)) return "malformed request line";
  if (scan_.line > 0 && !scan_.line_used) {
    scan_.done = true;
    return nullptr;
  }
  ++scan_.line;
  scan_.line_used = false;
  return nullptr;
}

// --- llhttp callbacks ---------------------------------------------------------------------

int HttpParser::onMessageBegin() {
  started_ = true;
  // Reserved when a request begins, not between requests: an idle keep-alive connection
  // should not hold a kilobyte for headers that may never come.
  if (head_.headers.capacity() == 0) head_.headers.reserve(kInitialFields);
  return 0;
}

int HttpParser::onUrl(const char* at, size_t len) {
  const size_t valid = validPrefix(at, len, isTargetChar);
  if (head_.target.size() + valid > limits_.max_target) {
    return reject(414, "request target too long");
  }
  if (valid < len) return reject(400, "invalid request target");
  head_.target.append(at, len);
  return 0;
}

int HttpParser::onUrlComplete() {
  // llhttp treats CONNECT as an upgrade to a tunnel; we are not a proxy.
  if (parser_.method == HTTP_CONNECT) return reject(400, "CONNECT not supported");
  return 0;
}

// RFC 9112 3.2: origin-form, absolute-form, or asterisk-form (authority-form is CONNECT's).
// Checked once the head is complete, after the version (505) and the method (501).
int HttpParser::checkTarget() {
  const std::string& target = head_.target;
  // RFC 9112 3.2 (and RFC 9110 4.2.5): a fragment is never sent; one here is not the URI the
  // client meant, and servers disagree on where the path ends.
  if (target.find('#') != std::string::npos) return reject(400, "fragment in request target");
  if (target.empty()) return reject(400, "invalid request target");
  if (target[0] == '/') return 0;
  if (target[0] == '*') {
    // RFC 9112 3.2.4: asterisk-form is only for a server-wide OPTIONS.
    if (target.size() > 1) return reject(400, "invalid request target");
    return parser_.method == HTTP_OPTIONS ? 0 : reject(400, "asterisk-form target without OPTIONS");
  }
  return checkAbsoluteForm();
}

// RFC 9112 3.2.2: absolute-form. Only http and https URIs name something this server serves
// (RFC 9110 4.2); the scheme is case-insensitive (RFC 3986 3.1). The target becomes its
// origin-form and the authority is kept for checkHost().
int HttpParser::checkAbsoluteForm() {
  const std::string_view target = head_.target;
  const size_t colon = target.find(':');
  if (colon == std::string_view::npos) return reject(400, "invalid request target");
  const std::string_view scheme = target.substr(0, colon);
  if (!equalsIgnoreCase(scheme, "http") && !equalsIgnoreCase(scheme, "https")) {
    return reject(400, "unsupported scheme in request target");
  }
  if (target.substr(colon + 1, 2) != "//") return reject(400, "invalid request target");
  const size_t begin = colon + 3;
  const size_t end = std::min(target.find_first_of("/?", begin), target.size());
  // RFC 9110 4.2.1: an http URI with an empty host is invalid; 4.2.4: userinfo is an error.
  const size_t host_len = hostLength(target.substr(begin, end - begin));
  if (host_len == kInvalidHost || host_len == 0) {
    return reject(400, "invalid authority in request target");
  }
  authority_begin_ = begin;
  authority_len_ = end - begin;
  head_.original_target = std::move(head_.target);
  const std::string_view rest = std::string_view(head_.original_target).substr(end);
  // RFC 9112 3.2.1: an empty path is sent as "/" in origin-form.
  head_.target.clear();  // moved from: valid but unspecified
  if (rest.empty() || rest[0] == '?') head_.target.push_back('/');
  head_.target.append(rest);
  return 0;
}

// RFC 9112 3.2: a server MUST answer 400 to an HTTP/1.1 request without a Host header, and to
// any request with more than one or with an invalid value.
int HttpParser::checkHost() {
  std::pair<std::string, std::string>* host = nullptr;
  size_t hosts = 0;
  for (auto& field : head_.headers) {
    if (field.first != "host") continue;
    host = &field;
    ++hosts;
  }
  if (hosts > 1) return reject(400, "repeated host header");
  if (hosts == 0 && parser_.http_minor == 1) return reject(400, "missing host header");
  if (host != nullptr && hostLength(host->second) == kInvalidHost) {
    return reject(400, "invalid host header");
  }
  return head_.original_target.empty() ? 0 : useAuthorityAsHost(host);
}

// RFC 9112 3.2.2: with an absolute-form target the server MUST ignore the Host header and use
// the target's authority; the app reads Host, so Host becomes the authority. The field counts
// against the limits like one that was sent.
int HttpParser::useAuthorityAsHost(std::pair<std::string, std::string>* host) {
  const std::string_view authority =
      std::string_view(head_.original_target).substr(authority_begin_, authority_len_);
  const size_t name_len = host != nullptr ? 0 : std::string_view("host").size();
  const size_t old_len = host != nullptr ? host->second.size() : 0;
  if (host == nullptr && field_count_ >= limits_.max_fields) {
    return reject(431, "too many header fields");
  }
  if (std::string_view("host").size() + authority.size() > limits_.max_field_size) {
    return reject(431, "header field too large");
  }
  if (headers_bytes_ - old_len + name_len + authority.size() > limits_.max_headers_size) {
    return reject(431, "header section too large");
  }
  if (host != nullptr) {
    host->second.assign(authority);
  } else {
    head_.headers.emplace_back("host", std::string(authority));
  }
  return 0;
}

int HttpParser::onVersion(const char* at, size_t len) {
  for (size_t i = 0; i < len && version_len_ < sizeof(version_); ++i) {
    version_[version_len_++] = at[i];
  }
  return 0;
}

int HttpParser::onVersionComplete() {
  version_complete_ = true;
  if (!versionSupported()) return reject(505, "unsupported http version");
  return 0;
}

int HttpParser::beginField() {
  if (field_count_ >= limits_.max_fields) return reject(431, "too many header fields");
  ++field_count_;
  field_bytes_ = 0;
  field_open_ = true;
  if (!head_complete_) head_.headers.emplace_back();
  return 0;
}

int HttpParser::countFieldBytes(size_t len) {
  if (field_bytes_ + len > limits_.max_field_size) return reject(431, "header field too large");
  if (headers_bytes_ + len > limits_.max_headers_size) {
    return reject(431, "header section too large");
  }
  field_bytes_ += len;
  headers_bytes_ += len;
  return 0;
}

int HttpParser::onHeaderField(const char* at, size_t len) {
  if (!field_open_) {
    if (const int rc = beginField()) return rc;
  }
  if (field_bytes_ + len > limits_.max_field_size ||
      headers_bytes_ + len > limits_.max_headers_size) {
    // Over a limit: 431 if the name's valid bytes alone are, else the invalid byte came first.
    if (const int rc = countFieldBytes(validPrefix(at, len, isTokenChar))) return rc;
    return reject(400, "invalid header name");
  }
  countFieldBytes(len);  // within the limits: checked just above
  // llhttp's loose build lets a space before the colon through ("Host : x").
  const bool ok =
      head_complete_ ? isName(at, len) : appendName(head_.headers.back().first, at, len);
  return ok ? 0 : reject(400, "invalid header name");
}

int HttpParser::onHeaderFieldComplete() {
  // llhttp accepts an empty name (": x").
  if (!field_open_ || field_bytes_ == 0) return reject(400, "empty header name");
  field_kind_ = FieldKind::kOther;
  if (head_complete_) return 0;  // a trailer field
  const std::string_view name = head_.headers.back().first;
  if (name == "transfer-encoding") field_kind_ = FieldKind::kTransferEncoding;
  if (name == "expect") field_kind_ = FieldKind::kExpect;
  return 0;
}

int HttpParser::onHeaderValue(const char* at, size_t len) {
  if (const int rc = countFieldBytes(len)) return rc;
  if (!head_complete_) head_.headers.back().second.append(at, len);
  return 0;
}

int HttpParser::onHeaderValueComplete() {
  field_open_ = false;
  if (head_complete_) return 0;  // trailers are counted against the limits, not kept
  std::string& value = head_.headers.back().second;
  trimOws(value);  // llhttp drops leading OWS only
  // RFC 9112 6.1: a coding we do not implement cannot be framed; "gzip, chunked" included.
  if (field_kind_ == FieldKind::kTransferEncoding && !equalsIgnoreCase(value, "chunked")) {
    return reject(400, "unsupported transfer-encoding");
  }
  if (field_kind_ == FieldKind::kExpect && equalsIgnoreCase(value, "100-continue")) {
    expect_continue_ = true;
  }
  return 0;
}

int HttpParser::onHeadersComplete() {
  // HTTP/0.9-style request lines never reach onVersionComplete.
  if (!versionSupported()) return reject(505, "unsupported http version");
  // A method llhttp parses without knowing it as HTTP (PRI in an HTTP/1.x request line).
  if (scan_.method == MethodScan::kUnknown) return reject(501, "method not implemented");
  if (const int rc = checkTarget()) return rc;
  if (const int rc = checkHost()) return rc;
  fillHead();
  head_complete_ = true;
  callbacks_.onRequestHead(head_);
  return 0;
}

void HttpParser::fillHead() {
  const bool has_body = (parser_.flags & F_CHUNKED) != 0 || parser_.content_length > 0;
  // RFC 9110 7.8: ignore Upgrade in HTTP/1.0. An upgrade request with a body is served as a
  // plain request (the server may ignore Upgrade), so a body is never left unparsed.
  if (parser_.upgrade != 0 && (parser_.http_minor == 0 || has_body)) parser_.upgrade = 0;
  head_.method = llhttp_method_name(static_cast<llhttp_method_t>(parser_.method));
  head_.http_major = parser_.http_major;
  head_.http_minor = parser_.http_minor;
  // RFC 9112 6.1: an HTTP/1.0 message with Transfer-Encoding has faulty framing: close after.
  const bool te_in_10 = parser_.http_minor == 0 && (parser_.flags & F_TRANSFER_ENCODING) != 0;
  head_.keep_alive = llhttp_should_keep_alive(&parser_) != 0 && !te_in_10;
  head_.chunked = (parser_.flags & F_CHUNKED) != 0;
  if ((parser_.flags & F_CONTENT_LENGTH) != 0) head_.content_length = parser_.content_length;
  head_.expect_continue = expect_continue_ && parser_.http_minor == 1;
  head_.upgrade = parser_.upgrade != 0;
  keep_alive_ = head_.keep_alive;
}

int HttpParser::onBody(const char* at, size_t len) {
  if (len > 0) callbacks_.onBody(std::string_view(at, len));
  return 0;
}

int HttpParser::onMessageComplete() {
  message_complete_ = true;
  callbacks_.onMessageComplete();
  // For an upgrade llhttp stops by itself (HPE_PAUSED_UPGRADE) right after this callback.
  return parser_.upgrade != 0 ? 0 : HPE_PAUSED;
}

bool HttpParser::versionSupported() const {
  return parser_.http_major == 1 && (parser_.http_minor == 0 || parser_.http_minor == 1);
}

void HttpParser::resetMessage() {
  head_.method.clear();
  head_.target.clear();
  head_.original_target.clear();
  head_.headers.clear();  // the callee may have moved from head_: clear() makes it valid again
  head_.http_major = 1;
  head_.http_minor = 1;
  head_.keep_alive = true;
  head_.chunked = false;
  head_.content_length.reset();
  head_.expect_continue = false;
  head_.upgrade = false;
  scan_ = {};
  scan_reason_ = nullptr;
  field_count_ = field_bytes_ = headers_bytes_ = 0;
  field_kind_ = FieldKind::kOther;
  field_open_ = false;
  version_len_ = 0;
  version_complete_ = expect_continue_ = false;
  keep_alive_ = true;
  started_ = head_complete_ = message_complete_ = upgraded_ = false;
  pending_status_ = 0;
  pending_reason_ = "";
  method_wait_ = false;
  authority_begin_ = authority_len_ = 0;
}

}  // namespace asgid::http
