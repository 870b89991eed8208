// libFuzzer target for HttpParser. The first input byte picks the limits (top bit: small ones,
// so 414 and 431 are reachable) and where the rest is cut in two; the pieces are fed the way a
// connection feeds them (unconsumed bytes kept, nextMessage() after each message). The parser's
// contract is checked as it runs, and the outcome is compared with feeding the rest at once.
#include "worker/http/http_parser.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

using asgid::http::HttpParser;
using asgid::http::ParserCallbacks;
using asgid::http::ParseResult;
using asgid::http::ParserLimits;
using asgid::http::ParseStatus;
using asgid::http::RequestHead;

void check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "http_parser_fuzz: invariant broken: %s\n", what);
  std::abort();
}

bool isTokenChar(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
         std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

void checkHead(const RequestHead& head, const ParserLimits& limits) {
  check(!head.method.empty(), "method is empty");
  check(!head.target.empty() && head.target.size() <= limits.max_target, "target size");
  check(head.http_major == 1 && (head.http_minor == 0 || head.http_minor == 1), "version");
  // RFC 9112 3.2: only origin-form (or "*" for OPTIONS) leaves the parser, never a fragment.
  check(head.target[0] == '/' || (head.target == "*" && head.method == "OPTIONS"), "target form");
  check(head.target.find('#') == std::string::npos, "fragment in target");
  check(head.headers.size() <= limits.max_fields, "field count");
  size_t hosts = 0;
  for (const auto& [name, value] : head.headers) {
    check(!name.empty(), "empty header name");
    for (char c : name) check(isTokenChar(static_cast<unsigned char>(c)), "name not a token");
    check(name.size() + value.size() <= limits.max_field_size, "field size");
    check(value.empty() || (value.front() != ' ' && value.front() != '\t' && value.back() != ' ' &&
                            value.back() != '\t'),
          "value not trimmed");
    for (char c : value) check(c != '\r' && c != '\n' && c != '\0', "CR, LF or NUL in value");
    if (name == "host") ++hosts;
  }
  check(hosts == 1 || (hosts == 0 && head.http_minor == 0), "host count");
  check(!(head.chunked && head.content_length), "chunked with content-length");
  check(!head.expect_continue || head.http_minor == 1, "expect_continue outside HTTP/1.1");
  check(!head.upgrade || (!head.chunked && head.content_length.value_or(0) == 0),
        "upgrade with a body");
}

// Records what a connection would see, as text, and checks the callback order.
class Events : public ParserCallbacks {
 public:
  explicit Events(const ParserLimits& limits) : limits_(limits) {}

  void onRequestHead(RequestHead& head) override {
    check(!in_message_, "head before the previous message completed");
    checkHead(head, limits_);
    in_message_ = true;
    log += head.method + ' ' + head.target + '\n';
    for (const auto& [name, value] : head.headers) log += name + ": " + value + '\n';
  }
  void onBody(std::string_view data) override {
    check(in_message_, "body outside a message");
    check(!data.empty(), "empty body piece");
    check(
        data.data() >= buffer.data() && data.data() + data.size() <= buffer.data() + buffer.size(),
        "body outside the fed buffer");
    log += data;
  }
  void onMessageComplete() override {
    check(in_message_, "message complete without a head");
    in_message_ = false;
    ++completed;
    log += "<complete>\n";
  }

  std::string_view buffer;  // what feed() was given
  std::string log;
  size_t completed = 0;

 private:
  ParserLimits limits_;
  bool in_message_ = false;
};

void checkError(HttpParser& parser, const ParseResult& r) {
  check(r.error_status == 400 || r.error_status == 414 || r.error_status == 431 ||
            r.error_status == 501 || r.error_status == 505,
        "unexpected error status");
  check(r.error_reason != nullptr && r.error_reason[0] != '\0', "empty error reason");
  const ParseResult again = parser.feed("x", 1);
  check(again.status == ParseStatus::kError && again.error_status == r.error_status,
        "error not sticky");
  check(parser.finish().error_status == r.error_status, "finish() forgot the error");
}

// Feeds one piece (and what is left of earlier ones). Returns false when parsing is over.
bool feedPiece(HttpParser& parser, Events& events, std::string& pending, ParseStatus& last) {
  for (;;) {
    events.buffer = pending;
    const size_t completed_before = events.completed;
    const ParseResult r = parser.feed(pending.data(), pending.size());
    check(r.consumed <= pending.size(), "consumed more than fed");
    check(!parser.headComplete() || parser.messageStarted(), "head complete, message not started");
    last = r.status;
    switch (r.status) {
      case ParseStatus::kNeedMore:
        check(r.consumed == pending.size(), "kNeedMore left bytes");
        pending.clear();
        return true;
      case ParseStatus::kMessageComplete:
        check(events.completed == completed_before + 1, "kMessageComplete without callback");
        pending.erase(0, r.consumed);
        parser.nextMessage();
        break;
      case ParseStatus::kUpgrade:
        check(events.completed == completed_before + 1, "kUpgrade without message complete");
        return false;
      case ParseStatus::kError:
        checkError(parser, r);
        return false;
    }
  }
}

struct Run {
  std::string log;
  ParseStatus last = ParseStatus::kNeedMore;
};

Run run(std::string_view input, size_t cut, const ParserLimits& limits) {
  Events events(limits);
  HttpParser parser(events, limits);
  Run result;
  std::string pending(input.substr(0, cut));
  if (feedPiece(parser, events, pending, result.last)) {
    pending.append(input.substr(cut));
    if (feedPiece(parser, events, pending, result.last)) {
      const ParseResult end = parser.finish();
      check(end.status == ParseStatus::kNeedMore ||
                (end.status == ParseStatus::kError && end.error_status == 400),
            "finish() result");
    }
  }
  result.log = events.log;
  return result;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // As the settings' defaults (config/settings.h); the top bit shrinks them.
  ParserLimits limits{
      .max_target = 8190, .max_fields = 100, .max_field_size = 8190, .max_headers_size = 65536};
  if ((data[0] & 0x80) != 0) {
    limits.max_target = 32;
    limits.max_fields = 4;
    limits.max_field_size = 64;
    limits.max_headers_size = 128;
  }
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  const size_t cut = input.size() * (data[0] & 0x7f) / 0x7f;
  const Run split = run(input, cut, limits);
  const Run whole = run(input, input.size(), limits);
  // Where the input is cut must not change what a valid stream means, nor whether it is valid.
  check((split.last == ParseStatus::kError) == (whole.last == ParseStatus::kError),
        "split and whole disagree on validity");
  if (whole.last != ParseStatus::kError) {
    check(split.log == whole.log && split.last == whole.last, "split and whole disagree");
  }
  return 0;
}
