// libFuzzer target for the whole HTTP/1.1 protocol: an HttpServer serves one end of a
// socketpair (HttpServer::serve, the acceptor's own path), a C++ request handler stands in for
// the ASGI bridge, and the harness is the client on the other end.
//
// Input: four control bytes, then the bytes the client sends.
//   [0] server options, one bit each: 0x01 small limits, 0x02 Date, 0x04 Server, 0x08 an
//       extra header, 0x10 zero body timeout, 0x20 zero keep-alive timeout, 0x40 a Unix-socket
//       peer, 0x80 a graceful shutdown part-way (HttpServer::beginShutdown)
//   [1] [2] how the stream is cut: piece sizes, loop turns between pieces, when the shutdown
//       begins (a PRNG seed)
//   [3] the handler's seed: with each request's index and target it picks what the "app" does
//       (answer at once or after reading the body, stream, declare its own length, fail, ...)
// The pieces are written one by one with loop turns in between, then the client half-closes
// and the loop runs until the server closes (bounded; no sleeps, no timers waited for).
//
// What the client received is then read by a strict, independent response reader, and checked:
// every byte belongs to a well-formed response (no garbage, no desync); the responses answer the
// requests the handler saw, in order (each carries its sequence number and a body the handler
// recorded), plus at most one error response of the server's own at the end; nothing follows a
// response after which the connection must close; no 1xx but one 100 Continue per request that
// asked for it; RFC framing rules (HEAD, 204, HTTP/1.0); the server closes after the client
// does; every request the handler saw is told how it ended (response complete, or disconnect),
// and no wait of the app is left without its wake-up; every zero-copy buffer is released once.
//
// Rerun a finding with HTTP_CONNECTION_FUZZ_VERBOSE=1 to see the requests and the transcript.
#include <errno.h>
#include <ev.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/log.h"
#include "worker/http/http_server.h"

namespace {

using asgid::http::Exchange;
using asgid::http::Header;
using asgid::http::HttpServer;
using asgid::http::ListenerInfo;
using asgid::http::RequestHandler;
using asgid::http::RequestObserver;
using asgid::http::SendResult;
using asgid::http::ServerOptions;

// ---------------------------------------------------------------------------------------------
// Failure reporting: what broke, the request log and the client's transcript.

std::function<std::string()> g_describe;  // the current run's state, printed on failure

std::string printable(std::string_view bytes, size_t max = 6000) {
  if (bytes.size() > max) {
    // The start and the end: where a desync shows.
    return printable(bytes.substr(0, max / 2), max) + "\n[... " +
           std::to_string(bytes.size() - max) + " bytes ...]\n" +
           printable(bytes.substr(bytes.size() - max / 2), max);
  }
  std::string out;
  for (size_t i = 0; i < bytes.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(bytes[i]);
    if (c == '\r') {
      out += "\\r";
    } else if (c == '\n') {
      out += "\\n\n";
    } else if (c < 0x20 || c >= 0x7f || c == '\\') {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

[[noreturn]] __attribute__((format(printf, 1, 2))) void fail(const char* format, ...) {
  std::fprintf(stderr, "http_connection_fuzz: invariant broken: ");
  va_list args;
  va_start(args, format);
  std::vfprintf(stderr, format, args);
  va_end(args);
  std::fprintf(stderr, "\n%s\n", g_describe ? g_describe().c_str() : "");
  std::abort();
}

void check(bool ok, const char* what) {
  if (!ok) fail("%s", what);
}

uint32_t fnv1a(std::string_view bytes, uint32_t hash = 2166136261u) {
  for (char c : bytes) hash = (hash ^ static_cast<unsigned char>(c)) * 16777619u;
  return hash;
}

// A small PRNG (xorshift32) for choices derived from a seed byte.
struct Random {
  uint32_t state;
  explicit Random(uint32_t seed) : state(seed * 2654435761u + 0x9e3779b9u) {
    if (state == 0) state = 1;
  }
  uint32_t next() {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    return state;
  }
  uint32_t below(uint32_t n) { return next() % n; }
};

// ---------------------------------------------------------------------------------------------
// The application side: one Request per request head the server handed over.

enum class Plan : uint8_t {
  kRespondAtOnce,        // answer without reading the body
  kReadThenRespond,      // read the whole body, then one send
  kReadThenStream,       // read the whole body, then several sends (chunked / until close)
  kDeclaredLength,       // the app's own content-length: exact, too short or too long
  kAppError,             // respondError()
  kFinishEmpty,          // finishRequest() with nothing sent: the server answers 500
  kTruncate,             // part of a streamed body, then finishRequest(true)
  kBodiless,             // 204 or 304, with body bytes the server must drop
  kAppClose,             // the app's own "connection: close"
  kInterim,              // a 1xx status as the app's response: the server answers 500
  kAppChunked,           // the app's own "transfer-encoding: chunked"
  kContinueThenRespond,  // wantBody() (100 Continue) once, then answer without reading
};

// Weighted: the ordinary cases most often.
constexpr Plan kPlans[] = {
    Plan::kReadThenRespond,
    Plan::kReadThenRespond,
    Plan::kReadThenRespond,
    Plan::kReadThenRespond,
    Plan::kReadThenRespond,
    Plan::kReadThenRespond,
    Plan::kReadThenRespond,
    Plan::kReadThenStream,
    Plan::kReadThenStream,
    Plan::kReadThenStream,
    Plan::kReadThenStream,
    Plan::kRespondAtOnce,
    Plan::kRespondAtOnce,
    Plan::kRespondAtOnce,
    Plan::kDeclaredLength,
    Plan::kDeclaredLength,
    Plan::kDeclaredLength,
    Plan::kAppError,
    Plan::kAppError,
    Plan::kFinishEmpty,
    Plan::kFinishEmpty,
    Plan::kTruncate,
    Plan::kTruncate,
    Plan::kBodiless,
    Plan::kBodiless,
    Plan::kAppClose,
    Plan::kAppClose,
    Plan::kInterim,
    Plan::kAppChunked,
    Plan::kAppChunked,
    Plan::kContinueThenRespond,
    Plan::kContinueThenRespond,
};

const char* planName(Plan plan) {
  static const char* const kNames[] = {
      "respond-at-once", "read-then-respond", "read-then-stream", "declared-length",
      "app-error",       "finish-empty",      "truncate",         "bodiless",
      "app-close",       "interim",           "app-chunked",      "continue-then-respond"};
  return kNames[static_cast<int>(plan)];
}

// Zero-copy bodies: the buffer lives until the server releases it, and is freed then, so a
// use after release is a heap-use-after-free.
struct ExternalBody {
  std::string bytes;
  size_t* released;
};

void releaseExternal(void* owner) {
  auto* body = static_cast<ExternalBody*>(owner);
  ++*body->released;
  delete body;
}

struct Counters {
  size_t external_given = 0;
  size_t external_released = 0;
  bool shutting_down = false;  // HttpServer::beginShutdown was called
  bool acted = false;          // some request did something this round
};

class Request final : public RequestObserver {
 public:
  enum class Outcome {
    kNone,         // nothing sent yet
    kStreaming,    // a response started, not complete
    kComplete,     // sendBody reported the response complete (or too long)
    kAppError,     // the app called respondError(status)
    kFinishEmpty,  // finishRequest() before any response: the server answers 500
    kInterrupted,  // the response started and was cut (finishRequest, or the client left)
  };

  Request(Exchange& exchange, size_t index, uint32_t seed, Counters& counters)
      : index_(index), counters_(counters), exchange_(&exchange) {
    const auto info = exchange.info();
    method = info.head.method;
    target = info.head.target;
    http10 = info.head.http_minor == 0;
    keep_alive = info.head.keep_alive;
    expect_continue = info.head.expect_continue;
    Random random(seed ^ fnv1a(target) ^ static_cast<uint32_t>(index * 7919));
    random_ = random;
    plan = kPlans[random_.below(sizeof kPlans / sizeof kPlans[0])];
    deferred_ = random_.below(3) == 0;
    delay_ = deferred_ ? 1 + static_cast<int>(random_.below(3)) : 0;
    reads_body_ =
        plan != Plan::kRespondAtOnce && plan != Plan::kContinueThenRespond &&
        (random_.below(4) != 0 || (plan != Plan::kAppError && plan != Plan::kFinishEmpty &&
                                   plan != Plan::kTruncate && plan != Plan::kBodiless));
  }

  // Starts the plan (from RequestHandler::onRequest).
  void start() {
    exchange_->attach(this);
    step(false);
  }

  // One loop turn passed (the app's work that is not a reaction to a callback).
  void tick() {
    if (exchange_ == nullptr || waiting_body_ || waiting_writable_) return;
    if (delay_ > 0) {
      --delay_;
      counters_.acted = true;
      return;
    }
    step(true);
  }

  // Whether the app still holds the exchange (has not been told that it ended).
  bool attached() const { return exchange_ != nullptr; }

  // Called when nothing moves any more while the client is still connected and reads all it
  // gets: a wait the server should have ended is a lost wake-up (the app would hang).
  void checkQuiet() const {
    if (exchange_ == nullptr) return;
    if (waiting_writable_) fail("request %zu: a blocked send was never resumed", index_);
    if (waiting_body_ && exchange_->bodyReady()) {
      fail("request %zu: body ready but the app was never told", index_);
    }
  }

  // RequestObserver.
  void onBodyReady() override {
    check(exchange_ != nullptr, "onBodyReady after the exchange was detached");
    if (!waiting_body_) return;  // the app reads when it gets to it (tick)
    step(false);
  }
  void onWritable() override {
    check(exchange_ != nullptr, "onWritable after the exchange was detached");
    if (!waiting_writable_) return;
    waiting_writable_ = false;
    step(false);
  }
  void onDisconnect(bool) override {
    check(exchange_ != nullptr, "onDisconnect after the exchange was detached");
    exchange_ = nullptr;
    disconnected = true;
    if (outcome == Outcome::kStreaming) outcome = Outcome::kInterrupted;
  }

  std::string describe() const {
    char line[160];
    std::snprintf(line, sizeof line,
                  "#%zu %s %s%s plan=%s%s body=%llu%s status=%d sent=%zu outcome=%d%s%s\n", index_,
                  printable(method, 20).c_str(), printable(target, 40).c_str(),
                  http10 ? " (1.0)" : "", planName(plan), deferred_ ? " (deferred)" : "",
                  static_cast<unsigned long long>(body_bytes_), body_done_ ? "" : "+", status,
                  sent.size(), static_cast<int>(outcome), disconnected ? " disconnected" : "",
                  exchange_ != nullptr ? " attached" : "");
    return line;
  }

  // What the reader checks the response against.
  std::string method;
  std::string target;
  bool http10 = false;
  bool keep_alive = true;
  bool expect_continue = false;
  Plan plan;
  Outcome outcome = Outcome::kNone;
  int status = 0;
  std::string sent;                  // every body byte handed to sendBody, in order
  std::optional<uint64_t> declared;  // the app's own content-length
  bool app_close = false;            // the app's own connection: close
  bool disconnected = false;         // told by onDisconnect or a kClosed send
  bool head_after_shutdown = false;  // the response head was written while the server drained

 private:
  void step(bool from_tick) {
    if (exchange_ == nullptr) return;
    counters_.acted = true;
    if (reads_body_ && !body_done_) {
      readBody();
      if (!body_done_ || exchange_ == nullptr) return;
    }
    if (plan == Plan::kContinueThenRespond && !asked_continue_) {
      asked_continue_ = true;
      exchange_->wantBody();
    }
    if (delay_ > 0 && !from_tick) return;  // tick() counts the delay down
    act();
  }

  void readBody() {
    waiting_body_ = false;
    while (exchange_->bodyReady()) {
      std::string piece;
      const bool more = exchange_->takeBody(piece);
      body_bytes_ += piece.size();
      body_hash_ = fnv1a(piece, body_hash_);
      if (!more) {
        body_done_ = true;
        return;
      }
    }
    // Like the bridge's receive(): nothing buffered, so ask for more and wait for the callback.
    exchange_->wantBody();
    waiting_body_ = exchange_ != nullptr;
  }

  std::string makeBody() {
    char line[96];
    std::snprintf(line, sizeof line, "#%zu %s body=%llu hash=%08x\n", index_, planName(plan),
                  static_cast<unsigned long long>(body_bytes_), body_hash_);
    std::string body = line;
    body += method;
    body += ' ';
    body += target;
    body += '\n';
    size_t pad = 0;
    switch (random_.below(32)) {
      case 0:
      case 1:
      case 2:
      case 3:
        pad = random_.below(3000);
        break;
      case 4:
      case 5:
      case 6:
      case 7:
        pad = 16 * 1024 + random_.below(24 * 1024);  // large enough to leave without a copy
        break;
      case 8:
        // More than the connection's output high-water mark (256 KiB) and the socket buffer:
        // sends block and resume on onWritable.
        pad = 300 * 1024 + random_.below(100 * 1024);
        break;
      default:
        break;
    }
    static constexpr std::string_view kLetters = "abcdefghijklmnopqrstuvwxyz";
    const size_t shift = index_ % kLetters.size();
    body.reserve(body.size() + pad);
    while (pad > 0) {
      const std::string_view piece = kLetters.substr(shift, std::min(pad, kLetters.size() - shift));
      body += piece;
      pad -= piece.size();
    }
    return body;
  }

  std::vector<Header> headers() const {
    return {{"x-fuzz-seq", std::to_string(index_)}, {"content-type", "text/plain"}};
  }

  // Sends `bytes` (sometimes by reference); returns whether the exchange is still attached.
  bool send(std::string_view bytes, bool more) {
    if (!head_sent_) {
      head_sent_ = true;
      head_after_shutdown = counters_.shutting_down;
    }
    sent += bytes;
    SendResult result;
    if (bytes.size() >= 1024 && random_.below(2) == 0) {
      ++counters_.external_given;
      auto* owner = new ExternalBody{std::string(bytes), &counters_.external_released};
      result = exchange_->sendBody(owner->bytes.data(), owner->bytes.size(), more, releaseExternal,
                                   owner);
    } else {
      result = exchange_->sendBody(bytes.data(), bytes.size(), more);
    }
    switch (result) {
      case SendResult::kOk:
        check(more, "sendBody said kOk to the last piece");
        outcome = Outcome::kStreaming;
        if (exchange_->writeBlocked()) waiting_writable_ = true;
        return true;
      case SendResult::kCompleted:
        check(!more, "sendBody completed a response the app had not finished");
        outcome = Outcome::kComplete;
        break;
      case SendResult::kTooLong:
        check(declared && sent.size() > *declared, "kTooLong within the declared length");
        outcome = Outcome::kComplete;
        break;
      case SendResult::kClosed:
        disconnected = true;
        if (outcome == Outcome::kStreaming) outcome = Outcome::kInterrupted;
        break;
    }
    exchange_ = nullptr;
    return false;
  }

  void startResponse(int code, std::vector<Header> extra = {}) {
    status = code;
    std::vector<Header> all = headers();
    for (auto& header : extra) all.push_back(std::move(header));
    exchange_->startResponse(code, std::move(all));
    started_ = true;
  }

  void act() {
    switch (plan) {
      case Plan::kRespondAtOnce:
      case Plan::kReadThenRespond:
      case Plan::kContinueThenRespond: {
        startResponse(random_.below(4) == 0 ? 404 : 200);
        send(makeBody(), false);
        break;
      }
      case Plan::kReadThenStream:
      case Plan::kAppChunked:
        stream();
        break;
      case Plan::kDeclaredLength: {
        std::string body = makeBody();
        uint64_t length = body.size();
        switch (random_.below(4)) {
          case 0:
            length = random_.below(static_cast<uint32_t>(body.size()));  // too short a length
            break;
          case 1:
            length += 1 + random_.below(100);  // a body that ends early
            break;
          default:
            break;
        }
        declared = length;
        startResponse(200, {{"content-length", std::to_string(length)}});
        if (random_.below(2) == 0 || body.size() < 2) {
          send(body, false);
        } else {
          const size_t cut = 1 + random_.below(static_cast<uint32_t>(body.size() - 1));
          if (send(std::string_view(body).substr(0, cut), true)) {
            send(std::string_view(body).substr(cut), false);
          }
        }
        break;
      }
      case Plan::kAppError: {
        static constexpr int kStatuses[] = {400, 404, 500, 503};
        status = kStatuses[random_.below(4)];
        outcome = Outcome::kAppError;
        Exchange* exchange = exchange_;
        exchange_ = nullptr;
        exchange->respondError(status);
        break;
      }
      case Plan::kFinishEmpty: {
        status = 500;
        outcome = Outcome::kFinishEmpty;
        Exchange* exchange = exchange_;
        exchange_ = nullptr;
        exchange->finishRequest(random_.below(2) == 0);
        break;
      }
      case Plan::kTruncate: {
        startResponse(200);
        std::string body = makeBody();
        if (send(std::string_view(body).substr(0, body.size() / 2), true)) {
          outcome = Outcome::kInterrupted;
          Exchange* exchange = exchange_;
          exchange_ = nullptr;
          exchange->finishRequest(true);
        }
        break;
      }
      case Plan::kBodiless:
        startResponse(random_.below(2) == 0 ? 204 : 304);
        send(makeBody(), false);
        break;
      case Plan::kAppClose:
        app_close = true;
        startResponse(200, {{"connection", "close"}});
        send(makeBody(), false);
        break;
      case Plan::kInterim: {
        static constexpr int kStatuses[] = {100, 101, 103};
        startResponse(kStatuses[random_.below(3)]);
        send(makeBody(), false);
        break;
      }
    }
  }

  // A response in pieces, one per call (tick or onWritable), sometimes several at once.
  void stream() {
    if (!started_) {
      std::vector<Header> extra;
      if (plan == Plan::kAppChunked) extra.push_back({"transfer-encoding", "chunked"});
      startResponse(200, std::move(extra));
      stream_body_ = makeBody();
      pieces_left_ = 1 + random_.below(4);
    }
    while (exchange_ != nullptr && !waiting_writable_) {
      if (pieces_left_ == 0) {
        send(stream_body_.substr(stream_at_), false);
        return;
      }
      --pieces_left_;
      const size_t rest = stream_body_.size() - stream_at_;
      const size_t size = rest == 0 ? 0 : random_.below(static_cast<uint32_t>(rest + 1));
      if (!send(std::string_view(stream_body_).substr(stream_at_, size), true)) return;
      stream_at_ += size;
      if (random_.below(2) == 0) {
        delay_ = random_.below(2);
        return;  // the rest on a later turn
      }
    }
  }

  size_t index_;
  Counters& counters_;
  Exchange* exchange_;
  Random random_{0};
  bool deferred_ = false;
  int delay_ = 0;
  bool reads_body_ = true;
  bool body_done_ = false;
  bool waiting_body_ = false;
  bool waiting_writable_ = false;
  bool asked_continue_ = false;
  bool started_ = false;
  bool head_sent_ = false;
  uint64_t body_bytes_ = 0;
  uint32_t body_hash_ = 2166136261u;
  std::string stream_body_;
  size_t stream_at_ = 0;
  size_t pieces_left_ = 0;
};

class Handler final : public RequestHandler {
 public:
  Handler(uint32_t seed, Counters& counters) : seed_(seed), counters_(counters) {}

  void onRequest(Exchange& exchange) override {
    for (const auto& request : requests) {
      check(!request->attached(), "a request started while the previous one is still attached");
    }
    requests.push_back(std::make_unique<Request>(exchange, requests.size(), seed_, counters_));
    requests.back()->start();
  }

  void tick() {
    // Index, not iterator: a tick can make the server start the next request.
    for (size_t i = 0; i < requests.size(); ++i) requests[i]->tick();
  }

  std::string describe() const {
    std::string out;
    for (const auto& request : requests) out += request->describe();
    return out;
  }

  std::vector<std::unique_ptr<Request>> requests;

 private:
  uint32_t seed_;
  Counters& counters_;
};

// ---------------------------------------------------------------------------------------------
// The client's reader: HTTP/1.1 responses as RFC 9112 frames them, strictly, written for this
// harness (it shares nothing with the server's code).

bool isTokenChar(unsigned char c) {
  return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') ||
         std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool hasToken(std::string_view list, std::string_view token) {
  size_t start = 0;
  for (;;) {
    size_t comma = list.find(',', start);
    std::string_view item = list.substr(start, comma == list.npos ? list.npos : comma - start);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (lower(item) == token) return true;
    if (comma == list.npos) return false;
    start = comma + 1;
  }
}

struct Response {
  int status = 0;
  std::string reason;
  std::vector<Header> headers;  // names lowercased
  bool head_complete = false;
  bool complete = false;  // head and body
  bool until_close = false;
  std::string body;

  const std::string* find(std::string_view name) const {
    const std::string* found = nullptr;
    for (const auto& [key, value] : headers) {
      if (key != name) continue;
      if (found != nullptr) fail("response with two '%s' fields", std::string(name).c_str());
      found = &value;
    }
    return found;
  }
  bool hasConnectionToken(std::string_view token) const {
    for (const auto& [key, value] : headers) {
      if (key == "connection" && hasToken(value, token)) return true;
    }
    return false;
  }
};

class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  bool atEnd() const { return pos_ == data_.size(); }
  size_t offset() const { return pos_; }

  // Reads one response to a request that was HEAD (no body whatever the fields say) or
  // HTTP/1.0 (no transfer coding allowed).
  Response next(bool head_request, bool http10_request) {
    Response response;
    if (!readHead(response)) return response;
    response.head_complete = true;
    const bool bodiless =
        head_request || response.status < 200 || response.status == 204 || response.status == 304;
    const std::string* length = response.find("content-length");
    bool chunked = false;
    bool has_te = false;
    for (const auto& [key, value] : response.headers) {
      if (key != "transfer-encoding") continue;
      has_te = true;
      chunked = hasToken(value, "chunked");  // the last field's coding wins (it must be last)
    }
    // RFC 9112 6.2: a sender must not send both.
    if (has_te && length != nullptr) fail("response with transfer-encoding and content-length");
    // RFC 9112 6.1: not to an HTTP/1.0 request (its client cannot decode it).
    if (has_te && http10_request) fail("transfer-encoding in a response to HTTP/1.0");
    // RFC 9110 8.6 and RFC 9112 6.1: neither field in a 1xx or 204 response.
    if ((response.status < 200 || response.status == 204) && (has_te || length != nullptr)) {
      fail("framing field in a %d response", response.status);
    }
    if (bodiless) {
      response.complete = true;
    } else if (has_te) {
      if (!chunked) fail("transfer-encoding without chunked");
      response.complete = readChunked(response.body);
    } else if (length != nullptr) {
      if (length->empty() || length->find_first_not_of("0123456789") != std::string::npos ||
          length->size() > 15) {
        fail("bad content-length '%s'", printable(*length).c_str());
      }
      const size_t size = std::stoull(*length);
      const size_t take = std::min(size, data_.size() - pos_);
      response.body.assign(data_.substr(pos_, take));
      pos_ += take;
      response.complete = take == size;
    } else {
      response.until_close = true;
      response.body.assign(data_.substr(pos_));
      pos_ = data_.size();
      response.complete = true;  // if the connection closed, which the caller checks
    }
    return response;
  }

 private:
  // Returns whether a whole line ending in CRLF was there; `line` excludes the CRLF.
  bool readLine(std::string_view& line) {
    const size_t end = data_.find("\r\n", pos_);
    if (end == std::string_view::npos) {
      if (data_.find('\n', pos_) != std::string_view::npos) fail("bare LF in a response");
      return false;
    }
    line = data_.substr(pos_, end - pos_);
    if (line.find('\n') != std::string_view::npos) fail("bare LF in a response");
    pos_ = end + 2;
    return true;
  }

  bool readHead(Response& response) {
    std::string_view line;
    if (!readLine(line)) return false;
    // status-line = HTTP-version SP status-code SP [ reason-phrase ]
    if (line.size() < 13 || line.substr(0, 9) != "HTTP/1.1 " || line[12] != ' ' ||
        line.substr(9, 3).find_first_not_of("0123456789") != std::string_view::npos ||
        line[9] == '0') {
      fail("bad status line '%s' at offset %zu", printable(line).c_str(), pos_ - line.size() - 2);
    }
    response.status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
    response.reason.assign(line.substr(13));
    for (unsigned char c : response.reason) {
      if (c < 0x20 && c != '\t') fail("control byte in the reason phrase");
    }
    for (;;) {
      if (!readLine(line)) return false;
      if (line.empty()) return true;
      const size_t colon = line.find(':');
      if (colon == 0 || colon == std::string_view::npos) {
        fail("bad field line '%s'", printable(line).c_str());
      }
      for (unsigned char c : line.substr(0, colon)) {
        if (!isTokenChar(c)) fail("bad field name '%s'", printable(line).c_str());
      }
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
        value.remove_prefix(1);
      }
      for (unsigned char c : value) {
        if (c == '\0' || c == '\r') fail("NUL or CR in a field value");
      }
      response.headers.emplace_back(lower(line.substr(0, colon)), std::string(value));
    }
  }

  // chunked-body = *chunk last-chunk trailer-section CRLF; this server sends no extensions and
  // no trailers. Returns whether the body was complete.
  bool readChunked(std::string& body) {
    for (;;) {
      std::string_view line;
      if (!readLine(line)) return false;
      if (line.empty() || line.size() > 15 ||
          line.find_first_not_of("0123456789abcdefABCDEF") != std::string_view::npos) {
        fail("bad chunk size line '%s'", printable(line).c_str());
      }
      const size_t size = std::stoull(std::string(line), nullptr, 16);
      if (size == 0) {
        if (!readLine(line)) return false;
        if (!line.empty()) fail("trailer or junk after the last chunk");
        return true;
      }
      const size_t take = std::min(size, data_.size() - pos_);
      body.append(data_.substr(pos_, take));
      pos_ += take;
      if (take < size) return false;
      if (data_.size() - pos_ < 2) {
        if (data_.substr(pos_) != std::string_view("\r\n").substr(0, data_.size() - pos_)) {
          fail("chunk data not followed by CRLF");
        }
        pos_ = data_.size();
        return false;
      }
      if (data_.substr(pos_, 2) != "\r\n") fail("chunk data not followed by CRLF");
      pos_ += 2;
    }
  }

  std::string_view data_;
  size_t pos_ = 0;
};

// The statuses the server answers on its own, as a whole short response.
bool isServerErrorStatus(int status, bool request_seen) {
  switch (status) {
    case 400:
    case 408:
    case 431:
      return true;  // a bad body, a body timeout or too large trailers can follow a head
    case 413:
    case 414:
    case 501:
    case 503:
    case 505:
      return !request_seen;
    default:
      return false;
  }
}

void checkServerErrorResponse(const Response& response, bool head_request) {
  check(response.complete, "the server's error response is cut short");
  check(response.hasConnectionToken("close"), "the server's error response lacks close");
  if (head_request) return;
  const std::string expected = response.reason + "\n";
  if (response.body != expected) {
    fail("server error response body '%s'", printable(response.body).c_str());
  }
}

// Whether what the app handed to sendBody explains the body the client got.
void checkAppBody(const Request& request, const Response& response, bool head_request) {
  const bool bodiless =
      head_request || request.status < 200 || request.status == 204 || request.status == 304;
  if (bodiless) {
    check(response.body.empty(), "body on a bodiless response");
    // RFC 9110 9.3.2: a HEAD response's content-length, if any, is the GET body's length
    // (here: the body the app gave in its one send).
    const std::string* length = response.find("content-length");
    if (head_request && length != nullptr && !request.declared && request.status >= 200 &&
        request.status != 204 && request.status != 304) {
      check(*length == std::to_string(request.sent.size()), "HEAD content-length differs");
    }
    return;
  }
  const std::string_view sent = request.sent;
  const std::string_view body = response.body;
  if (request.declared) {
    check(body == sent.substr(0, std::min<uint64_t>(*request.declared, sent.size())) ||
              (!response.complete && sent.substr(0, body.size()) == body),
          "body differs from what the app sent (declared length)");
    return;
  }
  if (response.complete && request.outcome == Request::Outcome::kComplete) {
    if (body != sent) {
      fail("body differs from what the app sent: got %zu bytes '%s', sent %zu bytes", body.size(),
           printable(body, 200).c_str(), sent.size());
    }
  } else {
    check(sent.substr(0, body.size()) == body, "body is not a prefix of what the app sent");
  }
}

// Checks the client's transcript against the handler's record of the requests.
void checkTranscript(std::string_view transcript, bool closed, const Handler& handler) {
  const auto& requests = handler.requests;
  Reader reader(transcript);
  size_t answered = 0;  // requests the app saw that have their response
  bool must_end = false;
  bool continue_pending = false;  // a 100 Continue was read for requests[answered]
  while (!reader.atEnd()) {
    if (must_end) {
      fail("bytes after a response that ends the connection, at offset %zu", reader.offset());
    }
    const Request* request = answered < requests.size() ? requests[answered].get() : nullptr;
    const bool head_request = request != nullptr && request->method == "HEAD";
    const size_t at = reader.offset();
    Response response = reader.next(head_request, request != nullptr && request->http10);
    if (!response.head_complete) {
      check(request != nullptr && (request->outcome == Request::Outcome::kInterrupted ||
                                   request->outcome == Request::Outcome::kStreaming),
            "response head cut short");
      check(reader.atEnd() && closed, "cut-short head not at the end");
      break;
    }
    if (response.status >= 100 && response.status < 200) {
      // RFC 9110 15.2: a client reads interim responses and waits for the final one.
      if (response.status != 100) fail("interim response %d sent", response.status);
      check(request != nullptr && request->expect_continue,
            "100 Continue for a request that did not expect it");
      check(!continue_pending, "two 100 Continue for one request");
      check(response.headers.empty(), "100 Continue with fields");
      continue_pending = true;
      continue;
    }
    continue_pending = false;
    const std::string* seq = response.find("x-fuzz-seq");
    if (seq != nullptr) {
      // The app's response for requests[answered].
      if (request == nullptr || *seq != std::to_string(answered)) {
        fail("response for request %s where %zu was due (offset %zu)", seq->c_str(), answered, at);
      }
      check(response.status == request->status, "status differs from the app's");
      check(request->outcome != Request::Outcome::kNone &&
                request->outcome != Request::Outcome::kAppError &&
                request->outcome != Request::Outcome::kFinishEmpty,
            "an app response the app did not send");
      checkAppBody(*request, response, head_request);
      if (!response.complete || response.until_close) {
        check(reader.atEnd() && closed, "a response delimited by the close, not closed");
      }
      const bool persistent = request->keep_alive && !response.hasConnectionToken("close") &&
                              (!request->http10 || response.hasConnectionToken("keep-alive"));
      // RFC 9112 9.6: after a "close" (either side's) nothing more on this connection.
      must_end = !persistent || request->app_close;
      if (request->app_close) check(response.hasConnectionToken("close"), "app's close dropped");
      if (request->head_after_shutdown) {
        // A draining server ends each connection after its current response, and says so.
        check(response.hasConnectionToken("close"), "a response while draining lacks close");
        must_end = true;
      }
      ++answered;
      continue;
    }
    // The server's own error response: the last thing on the connection.
    const bool seen = request != nullptr;
    if (seen) {
      if (request->outcome == Request::Outcome::kAppError) {
        check(response.status == request->status, "status differs from the app's respondError");
      } else if (request->outcome == Request::Outcome::kFinishEmpty) {
        check(response.status == 500, "finishRequest() without a response did not give 500");
      } else if (request->plan == Plan::kInterim && response.status == 500) {
        // A 1xx is not a final response: the server answers 500 in its place (unless its own
        // error came first, which the branch below checks).
      } else if (!isServerErrorStatus(response.status, true)) {
        fail("error %d for a request the app saw (%s)", response.status, planName(request->plan));
      }
      ++answered;
    } else if (!isServerErrorStatus(response.status, false)) {
      fail("unexpected status %d from the server", response.status);
    }
    checkServerErrorResponse(response, head_request);
    must_end = true;
  }
  if (!reader.atEnd()) return;
  // The requests left without a response must be ones that legitimately have none.
  for (size_t i = answered; i < requests.size(); ++i) {
    const Request& request = *requests[i];
    switch (request.outcome) {
      case Request::Outcome::kNone:
      case Request::Outcome::kInterrupted:
      case Request::Outcome::kStreaming:
        check(request.disconnected || request.outcome == Request::Outcome::kInterrupted,
              "a request without a response and no disconnect");
        break;
      case Request::Outcome::kComplete:
        // A response too long for its declared length ends there; else it must have arrived.
        fail("request %zu's complete response never arrived", i);
      case Request::Outcome::kAppError:
      case Request::Outcome::kFinishEmpty:
        fail("request %zu's error response never arrived", i);
    }
    check(i + 1 == requests.size(), "more than one request without a response");
  }
}

// ---------------------------------------------------------------------------------------------
// One run: server, client, pumping.

struct ev_loop* g_loop = nullptr;

constexpr int kQuietRounds = 3;   // loop turns without progress that mean "nothing left"
constexpr int kMaxRounds = 4000;  // per phase: a bound, never reached by a healthy server

class Run {
 public:
  Run(const uint8_t* control, std::string_view stream)
      : stream_(stream),
        cuts_(static_cast<uint32_t>(control[1]) << 8 | control[2]),
        handler_(control[3], counters_) {
    const uint8_t flags = control[0];
    cut_scale_ = control[1] & 3;
    shutdown_ = (flags & 0x80) != 0;
    ServerOptions options = asgid::http::serverOptions(asgid::config::Settings{});
    if ((flags & 0x01) != 0) {
      options.limits.max_target = 48;
      options.limits.max_fields = 6;
      options.limits.max_field_size = 80;
      options.limits.max_headers_size = 256;
    }
    options.date_header = (flags & 0x02) != 0;
    options.server_header = (flags & 0x04) != 0;
    if ((flags & 0x08) != 0) options.extra_headers = {{"x-extra", "1"}};
    // Deadlines due at the next loop turn reach the timeout paths without waiting for a clock:
    // the body timeout (408, or a cut response) and the keep-alive idle close. (Not the header
    // timeout: at zero it closes a fresh connection before its first byte is read, as libev
    // runs the expired timer before the read callback of the same turn.)
    if ((flags & 0x10) != 0) options.timeout_request_body = 0;
    if ((flags & 0x20) != 0) options.timeout_keep_alive = 0;
    int fds[2];
    check(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) == 0,
          "socketpair");
    client_ = fds[0];
    server_ = std::make_unique<HttpServer>(g_loop, std::move(options), handler_);
    ListenerInfo listener;
    if ((flags & 0x40) != 0) {
      listener = {-1, true, "/run/fuzz.sock", 0};
      server_->serve(fds[1], {"/run/fuzz.sock", -1}, listener);
    } else {
      listener = {-1, false, "127.0.0.1", 8000};
      server_->serve(fds[1], {"127.0.0.1", 40000}, listener);
    }
  }

  ~Run() {
    if (client_ >= 0) ::close(client_);
  }

  void go() {
    sendStream();
    if (shutdown_ && !counters_.shutting_down) beginShutdown();
    pumpUntilQuiet();
    if (!closed_) {
      for (const auto& request : handler_.requests) request->checkQuiet();
    }
    ::shutdown(client_, SHUT_WR);
    for (int i = 0; i < kMaxRounds && !closed_; ++i) round();
    if (!closed_) fail("the server did not close after the client did");
    for (int i = 0; i < kMaxRounds && server_->connectionCount() != 0; ++i) round();
    check(server_->connectionCount() == 0, "the connection outlived both ends' close");
    check(!counters_.shutting_down || drained_, "the server drained but never said so");
    server_.reset();
    afterRound();
    check(counters_.external_given == counters_.external_released,
          "a zero-copy body was never released");
    for (const auto& request : handler_.requests) {
      check(!request->attached(), "a request was never told that its exchange ended");
    }
    checkTranscript(transcript_, closed_, handler_);
  }

 private:
  // Writes the stream in pieces, with loop turns in between.
  void sendStream() {
    Random random(cuts_);
    static constexpr size_t kScale[] = {0, 8, 64, 512};  // 0: all at once
    const uint32_t shutdown_piece = random.below(6);
    size_t at = 0;
    for (uint32_t piece = 0; at < stream_.size(); ++piece) {
      if (shutdown_ && piece == shutdown_piece) beginShutdown();
      size_t size = stream_.size() - at;
      if (kScale[cut_scale_] != 0)
        size = std::min<size_t>(size, 1 + random.below(kScale[cut_scale_]));
      if (!writeAll(stream_.substr(at, size))) return;
      at += size;
      const uint32_t turns = random.below(4);
      for (uint32_t i = 0; i < turns; ++i) round();
    }
  }

  void beginShutdown() {
    counters_.shutting_down = true;
    server_->beginShutdown([this] {
      check(!drained_, "drained twice");
      drained_ = true;
    });
  }

  bool writeAll(std::string_view piece) {
    int stalled = 0;
    while (!piece.empty()) {
      const ssize_t n = ::send(client_, piece.data(), piece.size(), MSG_NOSIGNAL);
      if (n > 0) {
        piece.remove_prefix(static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        // The server does not read now (its buffers are full, or it waits for the app).
        if (!round() && ++stalled > kQuietRounds) return false;
        continue;
      }
      return false;  // the server closed its end
    }
    return true;
  }

  void pumpUntilQuiet() {
    int quiet = 0;
    for (int i = 0; i < kMaxRounds && quiet < kQuietRounds; ++i) quiet = round() ? 0 : quiet + 1;
  }

  // One loop turn, the app's turn, and the client's reading. Returns whether anything moved.
  bool round() {
    counters_.acted = false;
    ev_run(g_loop, EVRUN_NOWAIT);
    afterRound();
    handler_.tick();
    const bool got = drain();
    return counters_.acted || got;
  }

  // Once the connection is gone, nobody may still think it holds its exchange (the app would
  // wait forever, or touch a deleted connection).
  void afterRound() {
    if (server_ != nullptr && server_->connectionCount() != 0) return;
    for (const auto& request : handler_.requests) {
      if (request->attached()) {
        fail("the connection closed without telling request '%s' (%s)",
             printable(request->target, 40).c_str(), planName(request->plan));
      }
    }
  }

  bool drain() {
    bool got = false;
    char buffer[65536];
    while (!closed_) {
      const ssize_t n = ::recv(client_, buffer, sizeof buffer, MSG_DONTWAIT);
      if (n > 0) {
        transcript_.append(buffer, static_cast<size_t>(n));
        got = true;
      } else if (n == 0 || (n < 0 && errno == ECONNRESET)) {
        closed_ = true;
        got = true;
      } else {
        break;
      }
    }
    return got;
  }

 public:
  std::string describe() const {
    return "requests:\n" + handler_.describe() + "client received:\n" + printable(transcript_) +
           (closed_ ? "\n<closed>" : "\n<open>");
  }

 private:
  std::string_view stream_;
  uint32_t cuts_;
  unsigned cut_scale_ = 0;
  Counters counters_;
  Handler handler_;
  std::unique_ptr<HttpServer> server_;
  int client_ = -1;
  std::string transcript_;
  bool closed_ = false;
  bool shutdown_ = false;
  bool drained_ = false;
};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  signal(SIGPIPE, SIG_IGN);
  // Log lines are formatted (the sanitising of client bytes runs) and thrown away.
  asgid::log::setup(asgid::log::Level::kInfo, true, "/dev/null", "/dev/null");
  g_loop = ev_loop_new(EVFLAG_AUTO);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4) return 0;
  const std::string_view stream(reinterpret_cast<const char*>(data) + 4, size - 4);
  Run run(data, stream);
  g_describe = [&run] { return run.describe(); };
  run.go();
  // HTTP_CONNECTION_FUZZ_VERBOSE=1: show what happened (to read a reproducer).
  static const bool verbose = std::getenv("HTTP_CONNECTION_FUZZ_VERBOSE") != nullptr;
  if (verbose) std::fprintf(stderr, "%s\n", run.describe().c_str());
  g_describe = nullptr;
  return 0;
}
