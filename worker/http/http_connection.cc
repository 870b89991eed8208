#include "worker/http/http_connection.h"

#include <errno.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>

#include "common/log.h"
#include "worker/http/http_server.h"

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
constexpr double kLingerSeconds = 2.0;
// How long a draining server keeps an idle connection open for a request already on its way.
constexpr double kDrainIdleSeconds = 1.0;
constexpr size_t kLingerMaxBytes = 1024 * 1024;

uint64_t monotonicNs() {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<uint64_t>(now.tv_sec) * 1000000000u + static_cast<uint64_t>(now.tv_nsec);
}

}  // namespace

HttpConnection::HttpConnection(HttpServer& server, int fd, uint64_t id, Endpoint peer,
                               const ListenerInfo& local)
    : server_(server),
      fd_(fd),
      id_(id),
      peer_(std::move(peer)),
      local_{local.host, local.port},
      unix_socket_(local.unix_socket),
      parser_(*this, server.options().limits) {
  ev_io_init(&read_watcher_, onIo, fd, EV_READ);
  read_watcher_.data = this;
  ev_io_init(&write_watcher_, onIo, fd, EV_WRITE);
  write_watcher_.data = this;
  ev_init(&timer_, onTimer);
  timer_.data = this;
}

HttpConnection::~HttpConnection() {
  if (fd_ >= 0) close();
}

void HttpConnection::start() {
  ev_io_start(server_.loop(), &read_watcher_);
  setState(State::kIdle);
}

void HttpConnection::setState(State state) {
  state_ = state;
  ev_timer_stop(server_.loop(), &timer_);
  double timeout = 0;
  switch (state) {
    case State::kIdle:
      timeout =
          fresh_ ? server_.options().timeout_request_header : server_.options().timeout_keep_alive;
      break;
    case State::kReadingHead:
      timeout = server_.options().timeout_request_header;
      break;
    default:
      return;
  }
  ev_timer_set(&timer_, timeout, 0.0);
  ev_timer_start(server_.loop(), &timer_);
}

void HttpConnection::onIo(struct ev_loop*, ev_io* watcher, int) {
  auto* connection = static_cast<HttpConnection*>(watcher->data);
  if (watcher == &connection->read_watcher_) {
    connection->onReadable();
  } else {
    connection->onWritableSocket();
  }
}

void HttpConnection::onTimer(struct ev_loop*, ev_timer* watcher, int) {
  static_cast<HttpConnection*>(watcher->data)->onTimeout();
}

void HttpConnection::onReadable() {
  if (state_ == State::kClosed) return;
  char* buffer = server_.readBuffer();
  ssize_t got = ::read(fd_, buffer, HttpServer::kReadBufferSize);
  if (got < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
    close();  // reset by peer: an attached request is told in close()
    return;
  }
  if (got == 0) {
    onPeerClosed();
    return;
  }
  if (lingering_) {
    lingering_drained_ += static_cast<size_t>(got);
    if (lingering_drained_ > kLingerMaxBytes) close();
    return;
  }
  feed(buffer, static_cast<size_t>(got));
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
    if (result.status == ParseStatus::kUpgrade) {
      // No protocol to switch to here: the request is served as plain HTTP, then the
      // connection closes (the bytes after the head are not HTTP).
      message_complete_ = true;
      keep_alive_ = false;
      body_notify_ = true;
      size = 0;
    } else if (result.status == ParseStatus::kError) {
      log::main().info("conn {} {}: bad request ({}): {}", id_, peer_.host, result.error_status,
                       result.error_reason);
      respondError(result.error_status);
      return;
    }
  }
  if (body_notify_ && observer_ != nullptr) {
    body_notify_ = false;
    server_.wakeSoon();
    observer_->onBodyReady();
  }
  updateReading();
}

void HttpConnection::resetRequest() {
  message_complete_ = false;
  body_end_taken_ = false;
  continue_sent_ = false;
  response_started_ = false;
  response_head_written_ = false;
  response_complete_ = false;
  response_status_ = 0;
  response_headers_.clear();
  body_bytes_sent_ = 0;
  body_.clear();
  writer_waiting_ = false;
}

// RFC 9112 3.2: a server MUST answer 400 to an HTTP/1.1 request without a Host header, and to
// any request with more than one.
bool HttpConnection::hostHeaderValid() const {
  int hosts = 0;
  for (const auto& header : head_.headers) {
    if (header.first == "host") ++hosts;
  }
  return hosts == 1 || (hosts == 0 && head_.http_minor == 0);
}

void HttpConnection::onRequestHead(RequestHead& head) {
  head_ = std::move(head);
  keep_alive_ = head_.keep_alive && !shutdown_requested_;
  setState(State::kInRequest);
  if (!hostHeaderValid()) {
    log::main().info("conn {} {}: bad request (400): missing or repeated Host header", id_,
                     peer_.host);
    respondError(400);
    return;
  }
  if (log::accessEnabled()) request_start_ns_ = monotonicNs();
  const int limit = server_.options().limit_concurrency;
  if (limit > 0 && server_.activeRequests() >= static_cast<size_t>(limit)) {
    log::main().warn("conn {} {}: over --limit-concurrency {}: 503", id_, peer_.host, limit);
    respondError(503);
    return;
  }
  server_.requestStarted();
  counted_active_ = true;
  server_.handler().onRequest(*this);
}

void HttpConnection::onBody(std::string_view data) {
  if (state_ != State::kInRequest || response_complete_) return;  // nobody will read it
  body_.append(data);
  body_notify_ = true;
}

void HttpConnection::onMessageComplete() {
  message_complete_ = true;
  body_notify_ = true;
  if (response_complete_ && state_ == State::kInRequest) server_.scheduleFlush(this);
}

void HttpConnection::updateReading() {
  bool want = false;
  if (state_ == State::kClosed || peer_closed_) {
    want = false;
  } else if (lingering_ || state_ == State::kIdle || state_ == State::kReadingHead) {
    want = true;
  } else if (state_ == State::kInRequest) {
    want = message_complete_ ? pending_.size() < kPendingLimit : body_.size() < kBodyHighWater;
  }
  if (want && !ev_is_active(&read_watcher_)) {
    ev_io_start(server_.loop(), &read_watcher_);
  } else if (!want && ev_is_active(&read_watcher_)) {
    ev_io_stop(server_.loop(), &read_watcher_);
  }
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
    output_.append("HTTP/1.1 100 Continue\r\n\r\n");
    server_.scheduleFlush(this);
  }
  updateReading();
}

void HttpConnection::startResponse(int status, std::vector<Header> headers) {
  response_started_ = true;
  response_status_ = status;
  response_headers_ = std::move(headers);
  // RFC 9110 10.1.1: a client told nothing may still send the body; an unread body means
  // the connection cannot be reused.
  if (head_.expect_continue && !continue_sent_ && !message_complete_) keep_alive_ = false;
}

void HttpConnection::writeChunk(const char* data, size_t size, ReleaseFn release, void* owner) {
  if (release != nullptr && size >= kZeroCopyMin) {
    output_.appendExternal(data, size, release, owner);
    return;
  }
  output_.append(std::string_view(data, size));
  if (release != nullptr) release(owner);
}

HttpConnection::SendResult HttpConnection::sendBody(const char* data, size_t size, bool more,
                                                    ReleaseFn release, void* owner) {
  if (state_ == State::kClosed || response_complete_) {
    if (release != nullptr) release(owner);
    return SendResult::kClosed;
  }
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
    output_.build([&](std::string& out) { plan_ = writeResponseHead(input, out); });
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
        output_.append(std::string_view(line, static_cast<size_t>(length)));
        writeChunk(data, size, release, owner);
        output_.append("\r\n");
      } else if (release != nullptr) {
        release(owner);
      }
      if (!more) output_.append("0\r\n\r\n");
      break;
    case Framing::kUntilClose:
      writeChunk(data, size, release, owner);
      break;
  }
  body_bytes_sent_ += size;
  server_.scheduleFlush(this);
  if (result != SendResult::kOk) {
    if (plan_.framing == Framing::kContentLength && body_bytes_sent_ < plan_.content_length) {
      keep_alive_ = false;  // shorter than declared: the client must see the connection end
    }
    completeResponse();
  }
  return result;
}

bool HttpConnection::writeBlocked() {
  if (output_.bytes() <= kOutputHighWater) return false;
  writer_waiting_ = true;
  return true;
}

void HttpConnection::completeResponse() {
  response_complete_ = true;
  observer_ = nullptr;
  if (counted_active_) {
    counted_active_ = false;
    server_.requestEnded();
  }
  logAccess();
  if (!keep_alive_ || shutdown_requested_) setState(State::kClosing);
  server_.scheduleFlush(this);
}

void HttpConnection::finishRequest(bool failed) {
  observer_ = nullptr;
  if (state_ == State::kClosed || response_complete_) return;
  if (!response_head_written_ && !response_started_) {
    respondError(500);
    return;
  }
  // Started but not complete: the client must see the response end early.
  log::main().warn("conn {} {}: response incomplete ({}), closing", id_, peer_.host,
                   failed ? "the app raised" : "the app returned");
  response_complete_ = true;
  if (counted_active_) {
    counted_active_ = false;
    server_.requestEnded();
  }
  keep_alive_ = false;
  setState(State::kClosing);
  server_.scheduleFlush(this);
}

void HttpConnection::respondError(int status) {
  observer_ = nullptr;
  if (state_ == State::kClosed) return;
  response_status_ = status;
  response_complete_ = true;
  keep_alive_ = false;
  if (!response_head_written_) {
    output_.build([&](std::string& out) {
      writeSimpleResponse(status, server_.options().date_header ? server_.date() : "",
                          server_.serverName(), out);
    });
    response_head_written_ = true;
  }
  if (counted_active_) {
    counted_active_ = false;
    server_.requestEnded();
  }
  if (!head_.method.empty()) logAccess();
  setState(State::kClosing);
  server_.scheduleFlush(this);
}

void HttpConnection::flush() {
  in_flush_list_ = false;
  if (state_ == State::kClosed) return;
  if (!output_.empty()) {
    switch (output_.writeTo(fd_)) {
      case OutputQueue::WriteStatus::kError:
        close();
        return;
      case OutputQueue::WriteStatus::kPartial:
        if (!ev_is_active(&write_watcher_)) ev_io_start(server_.loop(), &write_watcher_);
        break;
      case OutputQueue::WriteStatus::kAll:
        if (ev_is_active(&write_watcher_)) ev_io_stop(server_.loop(), &write_watcher_);
        break;
    }
  }
  if (writer_waiting_ && output_.bytes() <= kOutputLowWater && observer_ != nullptr) {
    writer_waiting_ = false;
    // This runs in the prepare pass, after the loop decided how long to sleep: the task the
    // observer wakes must not wait for the next event.
    server_.wakeSoon();
    observer_->onWritable();
  }
  if (state_ == State::kClosing && output_.empty()) {
    beginLingeringClose();
  } else if (state_ == State::kInRequest && response_complete_) {
    if (message_complete_) {
      processPending();
    } else {
      // The app answered without reading the whole body: the rest cannot be told apart from
      // a next request without reading it all, so the connection ends here.
      keep_alive_ = false;
      setState(State::kClosing);
      if (output_.empty()) beginLingeringClose();
    }
  }
}

void HttpConnection::onWritableSocket() {
  flush();
}

void HttpConnection::processPending() {
  if (shutdown_requested_ || !keep_alive_) {
    setState(State::kClosing);
    if (output_.empty()) beginLingeringClose();
    return;
  }
  parser_.nextMessage();
  resetRequest();
  fresh_ = false;
  head_ = RequestHead();
  setState(State::kIdle);
  if (!pending_.empty()) {
    std::string data;
    data.swap(pending_);
    feed(data.data(), data.size());
    server_.wakeSoon();  // a request may have started from the prepare pass
  }
  updateReading();
}

void HttpConnection::onPeerClosed() {
  peer_closed_ = true;
  if (ev_is_active(&read_watcher_)) ev_io_stop(server_.loop(), &read_watcher_);
  // RFC 9112 9.6 allows a half-close, but like the peers we take the end of input during a
  // request as the client going away: the app hears http.disconnect.
  close();
}

void HttpConnection::beginLingeringClose() {
  if (peer_closed_ || lingering_) {
    close();
    return;
  }
  ::shutdown(fd_, SHUT_WR);
  lingering_ = true;
  pending_.clear();
  body_.clear();
  if (!ev_is_active(&read_watcher_)) ev_io_start(server_.loop(), &read_watcher_);
  ev_timer_stop(server_.loop(), &timer_);
  ev_timer_set(&timer_, kLingerSeconds, 0.0);
  ev_timer_start(server_.loop(), &timer_);
}

void HttpConnection::onTimeout() {
  switch (state_) {
    case State::kIdle:
      close();
      break;
    case State::kReadingHead:
      log::main().info("conn {} {}: request head not complete within {}s: 408", id_, peer_.host,
                       server_.options().timeout_request_header);
      respondError(408);
      break;
    case State::kClosing:
      close();
      break;
    default:
      break;
  }
}

void HttpConnection::shutdown() {
  shutdown_requested_ = true;
  keep_alive_ = false;
  // An idle connection is not closed at once: the client cannot know we are draining and may
  // have a request on its way, which a close would lose (RFC 9112 9.3.1 only lets it retry
  // idempotent ones). Its next request is answered with `connection: close`; a client that
  // sends nothing meets a shortened idle timeout.
  if (state_ == State::kIdle) {
    ev_timer_stop(server_.loop(), &timer_);
    ev_timer_set(&timer_, std::min(kDrainIdleSeconds, server_.options().timeout_keep_alive), 0.0);
    ev_timer_start(server_.loop(), &timer_);
  }
}

void HttpConnection::notifyDisconnect(bool abort) {
  if (observer_ == nullptr) return;
  RequestObserver* observer = observer_;
  observer_ = nullptr;
  server_.wakeSoon();
  observer->onDisconnect(abort);
}

void HttpConnection::abort() {
  notifyDisconnect(true);
  close();
}

void HttpConnection::close() {
  if (state_ == State::kClosed) return;
  notifyDisconnect(false);
  struct ev_loop* loop = server_.loop();
  ev_io_stop(loop, &read_watcher_);
  ev_io_stop(loop, &write_watcher_);
  ev_timer_stop(loop, &timer_);
  ::close(fd_);
  fd_ = -1;
  output_.clear();
  state_ = State::kClosed;
  if (counted_active_) {
    counted_active_ = false;
    server_.requestEnded();
  }
  server_.retire(this);
}

void HttpConnection::logAccess() {
  if (!log::accessEnabled()) return;
  double ms = static_cast<double>(monotonicNs() - request_start_ns_) / 1e6;
  const char* peer = unix_socket_ ? "unix" : peer_.host.c_str();
  log::access().info("{}:{} - \"{} {} HTTP/{}.{}\" {} {} {:.3f}ms", peer, peer_.port,
                     log::sanitize(head_.method, 32), log::sanitize(head_.target), head_.http_major,
                     head_.http_minor, response_status_, body_bytes_sent_, ms);
}

}  // namespace asgid::http
