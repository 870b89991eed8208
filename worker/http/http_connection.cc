#include "worker/http/http_connection.h"

#include <time.h>

#include <algorithm>

#include "common/access_log_format.h"
#include "common/client_log.h"
#include "common/clock.h"
#include "worker/http/http_server.h"
#include "worker/http/request_id.h"
#include "worker/net/transport_set.h"

namespace asgid::http {
namespace {

// Flow-control marks. The body buffer stops socket reads at kBodyHighWater (so an upload the
// app does not consume cannot grow memory); bytes of pipelined requests are buffered up to
// kPendingLimit; a send waits above kOutputHighWater until the queue drains to kOutputLowWater.
constexpr size_t kBodyHighWater = 64 * 1024;
constexpr size_t kPendingLimit = 64 * 1024;
constexpr size_t kOutputHighWater = 256 * 1024;
constexpr size_t kOutputLowWater = 64 * 1024;
// Bodies at least this large are written from the app's buffer without a copy.
constexpr size_t kZeroCopyMin = 16 * 1024;
// How long a draining server keeps an idle connection open for a request already on its way.
constexpr double kDrainIdleSeconds = 1.0;
// The access log's status for a request whose client left before any response was sent
// (nginx's convention: "client closed request").
constexpr int kClientClosedStatus = 499;

}  // namespace

HttpConnection::HttpConnection(HttpServer& server, net::Transport& transport)
    : server_(server), transport_(transport), parser_(*this, server.options().limits) {}

HttpConnection::~HttpConnection() = default;

void HttpConnection::start() {
  setState(State::kIdle);
}

void HttpConnection::setState(State state) {
  state_ = state;
  armTimer();
}

// The one place that gives the connection's deadline its meaning.
void HttpConnection::armTimer() {
  const ServerOptions& options = server_.options();
  switch (state_) {
    case State::kIdle:
      if (!transport_.output().empty()) {
        // The last response is still leaving: the idle wait starts once it has (onFlushed);
        // meanwhile the transport's send timeout covers a client that stops reading.
        transport_.clearDeadline();
        idle_after_drain_ = true;
      } else if (shutdown_requested_) {
        transport_.setDeadline(std::min(kDrainIdleSeconds, options.timeout_keep_alive));
      } else {
        transport_.setDeadline(fresh_ ? options.timeout_request_header
                                      : options.timeout_keep_alive);
      }
      break;
    case State::kReadingHead:
      transport_.setDeadline(options.timeout_request_header);
      break;
    case State::kInRequest:
      if (awaitingBody()) {
        transport_.setDeadline(options.timeout_request_body);
      } else {
        transport_.clearDeadline();
      }
      break;
    case State::kClosing:
    case State::kClosed:
      break;  // the transport bounds the closing on its own
  }
}

// Whether the client owes us body bytes now: the body is incomplete, we read (the app can take
// more), and the client is not waiting for a "100 Continue" we have not sent (RFC 9110
// 10.1.1: it may hold the body back until then).
bool HttpConnection::awaitingBody() const {
  return state_ == State::kInRequest && !message_complete_ && !response_complete_ &&
         transport_.reading() && (!head_.expect_continue || continue_sent_);
}

void HttpConnection::onData(const char* data, size_t size) {
  feed(data, size);
}

void HttpConnection::feed(const char* data, size_t size) {
  while (size > 0 &&
         (state_ == State::kIdle || state_ == State::kReadingHead || state_ == State::kInRequest)) {
    if (message_complete_) {
      // The next pipelined request waits until this one's response is complete.
      pending_.append(data, size);
      break;
    }
    if (state_ == State::kIdle) setState(State::kReadingHead);
    ParseResult result = parser_.feed(data, size);
    data += result.consumed;
    size -= result.consumed;
    if (result.status == ParseStatus::kUpgrade && upgrading_) {
      upgrade(data, size);
      return;
    }
    if (result.status == ParseStatus::kUpgrade) {
      // An upgrade to a protocol we do not speak: the request is served as plain HTTP, then the
      // connection closes (the bytes after the head are not HTTP).
      message_complete_ = true;
      keep_alive_ = false;
      body_notify_ = true;
      size = 0;
    } else if (result.status == ParseStatus::kError) {
      log::clientNoise("conn {} {}: bad request ({}): {}", transport_.id(), transport_.peer().host,
                       result.error_status, result.error_reason);
      failRequest(result.error_status);
      return;
    }
  }
  if (state_ == State::kInRequest && awaitingBody()) armTimer();  // a body byte came: restart
  if (body_notify_ && observer_ != nullptr) {
    body_notify_ = false;
    transport_.set().wakeSoon();
    observer_->onBodyReady();
  }
  updateReading();
}

void HttpConnection::onRequestHead(RequestHead& head) {
  head_ = std::move(head);
  origin_ = requestOrigin(head_, transport_.peer(), transport_.unixSocket(), transport_.local(),
                          server_.options().proxy);
  if (server_.options().request_id) addRequestId();
  keep_alive_ = head_.keep_alive && !shutdown_requested_;
  if (log::accessEnabled()) request_start_ns_ = monotonicNs();
  setState(State::kInRequest);
  if (bodyOverLimit(head_.content_length.value_or(0))) {
    // The declared length says it: answer before the app runs and before a body byte is read
    // (the lingering close drops what the client sends anyway), as nginx and gunicorn do.
    log::clientNoise("conn {} {}: Content-Length {} over --limit-request-body {}: 413",
                     transport_.id(), transport_.peer().host, *head_.content_length,
                     server_.options().limit_request_body);
    respondError(413);
    return;
  }
  const int limit = server_.options().limit_concurrency;
  if (limit > 0 && server_.activeRequests() >= static_cast<size_t>(limit)) {
    log::clientNoise("conn {} {}: over --limit-concurrency {}: 503", transport_.id(),
                     transport_.peer().host, limit);
    respondError(503);
    return;
  }
  Upgrader* upgrader = server_.upgrader();
  if (upgrader != nullptr && upgrader->wants(head_)) {
    if (head_.upgrade) {
      upgrading_ = true;  // the parser stops right after this head (kUpgrade)
      return;
    }
    if (head_.chunked || head_.content_length.value_or(0) > 0) {
      // RFC 6455 4.1: the opening handshake is a GET without content; bytes after it are
      // frames, so a body cannot be told from them.
      log::clientNoise("conn {} {}: upgrade request with a body: 400", transport_.id(),
                       transport_.peer().host);
      failRequest(400);
      return;
    }
    // HTTP/1.0: Upgrade means nothing (RFC 9110 7.8), the request is plain HTTP.
  }
  server_.requestStarted();
  counted_active_ = true;
  server_.handler().onRequest(*this);
}

void HttpConnection::upgrade(const char* data, size_t size) {
  upgrading_ = false;
  std::string leftover(data, size);
  leftover.append(pending_);
  pending_.clear();
  Upgrader::Refusal refusal = server_.upgrader()->upgrade(transport_, head_, origin_,
                                                          std::move(leftover), request_start_ns_);
  if (refusal.status == 0) {
    // The transport speaks the new protocol now; this object is retired and deleted after
    // this loop turn, and must not touch the transport again.
    state_ = State::kClosed;
    return;
  }
  log::clientNoise("conn {} {}: upgrade refused ({}): {}", transport_.id(), transport_.peer().host,
                   refusal.status, refusal.reason);
  error_headers_ = std::move(refusal.headers);
  failRequest(refusal.status);
}

// --request-id: a request without an X-Request-ID gets one, added to the head before the app
// is attached, so the scope's headers and the access log's %({x-request-id}i)s both show it.
// One the client sent is kept as it is.
void HttpConnection::addRequestId() {
  for (const auto& header : head_.headers) {
    if (header.first == "x-request-id") return;
  }
  head_.headers.emplace_back("x-request-id", nextRequestId());
}

void HttpConnection::onBody(std::string_view data) {
  if (state_ != State::kInRequest || response_complete_) return;  // nobody will read it
  body_received_ += data.size();
  if (bodyOverLimit(body_received_)) {
    rejectLongBody();
    return;
  }
  body_.append(data);
  body_notify_ = true;
}

bool HttpConnection::bodyOverLimit(uint64_t bytes) const {
  const uint64_t limit = server_.options().limit_request_body;
  return limit > 0 && bytes > limit;
}

// A chunked body passed --limit-request-body while the app reads it: the app hears
// http.disconnect; the client gets 413 if no response byte has left yet, else the connection
// ends (the response cannot be finished honestly).
void HttpConnection::rejectLongBody() {
  log::clientNoise("conn {} {}: request body over --limit-request-body {}: 413", transport_.id(),
                   transport_.peer().host, server_.options().limit_request_body);
  if (!response_head_written_) {
    failRequest(413);
    return;
  }
  notifyDisconnect(false);
  endRequest();
  logAccess(response_status_);
  transport_.close();
}

void HttpConnection::onMessageComplete() {
  message_complete_ = true;
  body_notify_ = true;
  if (response_complete_ && state_ == State::kInRequest) transport_.scheduleFlush();
}

void HttpConnection::updateReading() {
  bool want = false;
  if (state_ == State::kIdle || state_ == State::kReadingHead) {
    want = true;
  } else if (state_ == State::kInRequest) {
    want = message_complete_ ? pending_.size() < kPendingLimit : body_.size() < kBodyHighWater;
  }
  if (want == transport_.reading()) return;
  transport_.setReading(want);
  if (state_ == State::kInRequest) armTimer();  // awaiting the body depends on reading
}

RequestInfo HttpConnection::info() const {
  return RequestInfo{head_,          origin_.client, origin_.server, !origin_.client_known,
                     origin_.scheme, transport_.id()};
}

void HttpConnection::attach(RequestObserver* observer) {
  observer_ = observer;
}

bool HttpConnection::takeBody(std::string& out) {
  out.clear();
  out.swap(body_);
  if (message_complete_) body_end_taken_ = true;
  updateReading();
  return !message_complete_;
}

void HttpConnection::wantBody() {
  if (head_.expect_continue && !continue_sent_ && !response_started_ && !message_complete_) {
    continue_sent_ = true;
    transport_.output().append("HTTP/1.1 100 Continue\r\n\r\n");
    transport_.scheduleFlush();
    armTimer();  // the client now owes us the body
  }
  updateReading();
}

void HttpConnection::startResponse(int status, std::vector<Header> headers) {
  if (status < 200 || status > 999) {
    // A 1xx is interim: sent as the response, the client would take the next one for it.
    log::main().error("conn {}: the app answered with status {}, not a final status: 500",
                      transport_.id(), status);
    respondError(500);  // the app is calling: it learns from its next sendBody (kClosed)
    return;
  }
  response_started_ = true;
  response_status_ = status;
  response_headers_ = std::move(headers);
  // RFC 9110 10.1.1: a client told nothing may still send the body; an unread body means
  // the connection cannot be reused.
  if (head_.expect_continue && !continue_sent_ && !message_complete_) keep_alive_ = false;
}

void HttpConnection::writeChunk(const char* data, size_t size, ReleaseFn release, void* owner) {
  net::OutputQueue& output = transport_.output();
  if (release != nullptr && size >= kZeroCopyMin) {
    output.appendExternal(data, size, release, owner);
    return;
  }
  output.append(std::string_view(data, size));
  if (release != nullptr) release(owner);
}

SendResult HttpConnection::sendBody(const char* data, size_t size, bool more, ReleaseFn release,
                                    void* owner) {
  if (state_ == State::kClosed || response_complete_) {
    if (release != nullptr) release(owner);
    return SendResult::kClosed;
  }
  net::OutputQueue& output = transport_.output();
  if (!response_head_written_) {
    ResponseHeadInput input;
    input.status = response_status_;
    input.app_headers = &response_headers_;
    input.request_is_head = head_.method == "HEAD";
    input.request_keep_alive = keep_alive_;
    input.http10 = head_.http_minor == 0;
    if (!more) input.whole_body_length = size;
    input.date = server_.options().date_header ? server_.date() : std::string_view();
    input.server = server_.serverName();
    input.extra_headers = &server_.options().extra_headers;
    input.force_close = shutdown_requested_;
    output.build([&](std::string& out) { plan_ = writeResponseHead(input, out); });
    response_head_written_ = true;
    keep_alive_ = plan_.keep_alive;
  }
  SendResult result = more ? SendResult::kOk : SendResult::kCompleted;
  switch (plan_.framing) {
    case Framing::kNone:
      if (release != nullptr) release(owner);
      break;
    case Framing::kContentLength: {
      uint64_t allowed = plan_.content_length - body_bytes_sent_;
      if (size > allowed) {
        // Never past the declared length (RFC 9112 6.3): the rest would be read as the next
        // response.
        size = static_cast<size_t>(allowed);
        keep_alive_ = false;
        result = SendResult::kTooLong;
      }
      if (size > 0) {
        writeChunk(data, size, release, owner);
      } else if (release != nullptr) {
        release(owner);
      }
      break;
    }
    case Framing::kChunked:
      if (size > 0) {
        char line[24];
        int length = snprintf(line, sizeof line, "%zx\r\n", size);
        output.append(std::string_view(line, static_cast<size_t>(length)));
        writeChunk(data, size, release, owner);
        output.append("\r\n");
      } else if (release != nullptr) {
        release(owner);
      }
      if (!more) output.append("0\r\n\r\n");
      break;
    case Framing::kUntilClose:
      writeChunk(data, size, release, owner);
      break;
  }
  body_bytes_sent_ += size;
  transport_.scheduleFlush();
  if (result != SendResult::kOk) {
    if (plan_.framing == Framing::kContentLength && body_bytes_sent_ < plan_.content_length) {
      keep_alive_ = false;  // shorter than declared: the client must see the connection end
    }
    completeResponse();
  }
  return result;
}

bool HttpConnection::writeBlocked() {
  if (transport_.output().bytes() <= kOutputHighWater) return false;
  writer_waiting_ = true;
  return true;
}

// The request is over for the app: the observer is detached, the access log written once,
// and the in-flight count released.
void HttpConnection::endRequest() {
  observer_ = nullptr;
  response_complete_ = true;
  if (counted_active_) {
    counted_active_ = false;
    server_.requestEnded();
  }
}

void HttpConnection::completeResponse() {
  endRequest();
  logAccess(response_status_);
  if (!keep_alive_ || shutdown_requested_) {
    closeAfterWrite();
  } else {
    transport_.scheduleFlush();  // the flush pass moves on to the next request
    armTimer();
  }
}

void HttpConnection::finishRequest(bool failed) {
  observer_ = nullptr;
  if (state_ == State::kClosed || response_complete_) return;
  if (!response_head_written_) {
    respondError(500);
    return;
  }
  // Started but not complete: the client must see the response end early.
  log::main().warn("conn {} {}: response incomplete ({}), closing", transport_.id(),
                   transport_.peer().host, failed ? "the app raised" : "the app returned");
  endRequest();
  logAccess(response_status_);
  keep_alive_ = false;
  closeAfterWrite();
}

// The server ends the request on its own (bad input, a timeout, a broken response): an app
// still attached must hear that its request is over, or its receive() would wait forever
// holding a pointer to this exchange.
void HttpConnection::failRequest(int status) {
  notifyDisconnect(false);
  respondError(status);
}

void HttpConnection::respondError(int status) {
  observer_ = nullptr;  // the app asked: it is detached, not told
  if (state_ == State::kClosed || state_ == State::kClosing) return;
  keep_alive_ = false;
  if (!response_head_written_) {
    response_status_ = status;
    transport_.output().build([&](std::string& out) {
      writeSimpleResponse(status, server_.options().date_header ? server_.date() : "",
                          server_.serverName(), head_.method == "HEAD", out,
                          error_headers_.empty() ? nullptr : &error_headers_);
    });
    response_head_written_ = true;
  }
  endRequest();
  if (!head_.method.empty()) logAccess(response_status_);
  closeAfterWrite();
}

void HttpConnection::closeAfterWrite() {
  setState(State::kClosing);
  transport_.closeAfterWrite();
}

void HttpConnection::onFlushed() {
  if (writer_waiting_ && transport_.output().bytes() <= kOutputLowWater && observer_ != nullptr) {
    writer_waiting_ = false;
    // This runs in the prepare pass, after the loop decided how long to sleep: the task the
    // observer wakes must not wait for the next event.
    transport_.set().wakeSoon();
    observer_->onWritable();
  }
  if (idle_after_drain_ && state_ == State::kIdle && transport_.output().empty()) {
    idle_after_drain_ = false;
    armTimer();
  }
  advance();
}

// Moves on once the response is complete: to the next request on a keep-alive connection,
// else to the close. Runs from the flush pass, never inside the app's own send().
void HttpConnection::advance() {
  if (state_ != State::kInRequest || !response_complete_) return;
  if (!message_complete_) {
    // The app answered without reading the whole body: the rest cannot be told apart from a
    // next request without reading it all, so the connection ends here.
    keep_alive_ = false;
  }
  if (!keep_alive_ || shutdown_requested_) {
    closeAfterWrite();
    return;
  }
  nextRequest();
}

void HttpConnection::nextRequest() {
  parser_.nextMessage();
  message_complete_ = false;
  body_end_taken_ = false;
  continue_sent_ = false;
  response_started_ = false;
  response_head_written_ = false;
  response_complete_ = false;
  request_logged_ = false;
  response_status_ = 0;
  response_headers_.clear();
  body_bytes_sent_ = 0;
  body_received_ = 0;
  body_.clear();
  writer_waiting_ = false;
  fresh_ = false;
  head_ = RequestHead();
  setState(State::kIdle);
  if (!pending_.empty()) {
    std::string data;
    data.swap(pending_);
    feed(data.data(), data.size());
    transport_.set().wakeSoon();  // a request may have started from the prepare pass
  }
  updateReading();
}

void HttpConnection::onPeerClosed() {
  // RFC 9112 9.6 allows a half-close, but like the peers we take the end of input during a
  // request as the client going away: the app hears http.disconnect.
  transport_.close(net::CloseReason::kPeerGone);
}

void HttpConnection::onTimeout() {
  const ServerOptions& options = server_.options();
  switch (state_) {
    case State::kIdle:
      transport_.close();
      break;
    case State::kReadingHead:
      log::clientNoise("conn {} {}: request head not complete within {}s: 408", transport_.id(),
                       transport_.peer().host, options.timeout_request_header);
      respondError(408);
      break;
    case State::kInRequest:
      if (!awaitingBody()) break;
      log::clientNoise("conn {} {}: no request body byte for {}s (--timeout-request-body)",
                       transport_.id(), transport_.peer().host, options.timeout_request_body);
      if (response_head_written_) {
        notifyDisconnect(false);
        endRequest();
        logAccess(response_status_);
        transport_.close();
      } else {
        failRequest(408);
      }
      break;
    case State::kClosing:
    case State::kClosed:
      break;
  }
}

void HttpConnection::onShutdown() {
  shutdown_requested_ = true;
  keep_alive_ = false;
  // An idle connection is not closed at once: the client cannot know we are draining and may
  // have a request on its way, which a close would lose (RFC 9112 9.3.1 only lets it retry
  // idempotent ones). Its next request is answered with `connection: close`; a client that
  // sends nothing meets a shortened idle timeout.
  if (state_ == State::kIdle) armTimer();
}

void HttpConnection::onClosed(net::CloseReason reason) {
  bool in_request = state_ == State::kInRequest && !response_complete_;
  state_ = State::kClosed;
  notifyDisconnect(reason == net::CloseReason::kAborted);
  if (in_request) {
    endRequest();
    logAccess(response_head_written_ ? response_status_ : kClientClosedStatus);
  }
}

void HttpConnection::notifyDisconnect(bool abort) {
  if (observer_ == nullptr) return;
  RequestObserver* observer = observer_;
  observer_ = nullptr;
  transport_.set().wakeSoon();
  observer->onDisconnect(abort);
}

void HttpConnection::logAccess(int status) {
  if (request_logged_ || !log::accessEnabled()) return;
  request_logged_ = true;
  const ServerOptions& options = server_.options();
  log::AccessRecord record;
  record.peer_host =
      transport_.unixSocket() ? std::string_view("unix") : std::string_view(transport_.peer().host);
  record.peer_port = transport_.peer().port;
  if (!head_.method.empty()) {  // the client a trusted proxy named (the head was read)
    if (origin_.client_known) {
      record.peer_host = origin_.client.host;
    } else if (!transport_.unixSocket()) {
      record.peer_host = "-";  // the proxy said "unknown"
    }
    record.peer_port = origin_.client.port;
  }
  record.method = head_.method;
  record.target = head_.original_target.empty() ? head_.target : head_.original_target;
  record.http_major = head_.http_major;
  record.http_minor = head_.http_minor;
  record.status = status;
  record.body_bytes = body_bytes_sent_;
  record.duration_ns = monotonicNs() - request_start_ns_;
  record.request_headers = &head_.headers;
  record.response_headers = &response_headers_;
  record.extra_response_headers = &options.extra_headers;
  // One buffer per thread: the line is built without an allocation once it has grown.
  thread_local std::string line;
  line.clear();
  options.access_format.render(record, line, log::accessColor());
  log::access().log(spdlog::level::info, spdlog::string_view_t(line.data(), line.size()));
}

}  // namespace asgid::http
