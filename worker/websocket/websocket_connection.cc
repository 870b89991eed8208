#include "worker/websocket/websocket_connection.h"

#include <algorithm>

#include "common/access_log_format.h"
#include "common/client_log.h"
#include "common/clock.h"
#include "common/log.h"
#include "worker/http/http_server.h"
#include "worker/http/response_head.h"
#include "worker/net/transport_set.h"
#include "worker/websocket/websocket_server.h"

namespace asgid::ws {
namespace {

// A send waits above the high-water mark until the queue drains to the low-water mark.
constexpr size_t kOutputHighWater = 256 * 1024;
constexpr size_t kOutputLowWater = 64 * 1024;
// Messages at least this large are written from the app's buffer without a copy.
constexpr size_t kZeroCopyMin = 16 * 1024;
// Bytes a client may send before the handshake is answered (it should send none).
constexpr size_t kEarlyBytesLimit = 64 * 1024;
// The access log's status when the client left before the handshake was answered.
constexpr int kClientClosedStatus = 499;

}  // namespace

WebSocketConnection::WebSocketConnection(WebSocketServer& server, net::Transport& transport,
                                         http::RequestHead head, const http::RequestOrigin& origin,
                                         std::unique_ptr<WsEngine> engine,
                                         HandshakeAnswer handshake, uint64_t start_ns)
    : server_(server),
      transport_(transport),
      head_(std::move(head)),
      origin_(origin),
      engine_(std::move(engine)),
      handshake_headers_(std::move(handshake.headers)),
      subprotocols_(std::move(handshake.subprotocols)),
      start_ns_(start_ns) {
  engine_->setBufferSource(&server_.handler());
}

WebSocketConnection::~WebSocketConnection() {
  server_.closed(this);
}

void WebSocketConnection::start() {
  server_.http().requestStarted();
  counted_active_ = true;
  server_.opened(this);
  updateReading();
  server_.handler().onWebSocket(*this);
}

http::RequestInfo WebSocketConnection::info() const {
  // The ASGI WebSocket scope's scheme: ws, or wss behind TLS (a proxy's word included).
  std::string_view scheme = origin_.scheme == "https" ? "wss" : "ws";
  return http::RequestInfo{head_,  origin_.client, origin_.server, !origin_.client_known,
                           scheme, transport_.id()};
}

void WebSocketConnection::setState(State state) {
  state_ = state;
  armTimer();
}

// The earliest deadline of the state; the transport keeps one timer for it.
void WebSocketConnection::armTimer() {
  double deadline = 0;
  auto consider = [&deadline](double at) {
    if (at > 0 && (deadline == 0 || at < deadline)) deadline = at;
  };
  if (state_ == State::kOpen) {
    consider(next_ping_at_);
    consider(pong_deadline_);
  } else if (state_ == State::kClosing) {
    consider(close_deadline_);
  }
  if (deadline == 0) {
    transport_.clearDeadline();
  } else {
    transport_.setDeadline(std::max(0.0, deadline - ev_now(transport_.set().loop())));
  }
}

void WebSocketConnection::updateReading() {
  bool want = false;
  if (state_ == State::kHandshake) {
    want = unread_.size() < kEarlyBytesLimit;
  } else if (state_ == State::kOpen) {
    // --ws-max-queue: an app that does not receive stops the reads (the client's writes then
    // block in TCP's flow control).
    want = unread_.empty() && inbox_.size() < server_.options().max_queue;
  } else if (state_ == State::kClosing) {
    want = true;  // data is dropped now; the peer's close frame must get through
  }
  if (want != transport_.reading()) transport_.setReading(want);
}

void WebSocketConnection::onData(const char* data, size_t size) {
  if (state_ == State::kOpen || state_ == State::kClosing) {
    // The engine unmasks payloads in place: the transport's read buffer is ours during the
    // call and read by nobody else.
    process(const_cast<char*>(data), size);
  } else if (state_ == State::kHandshake) {
    unread_.append(data, size);
  }
  updateReading();
}

void WebSocketConnection::processBuffered() {
  if (unread_.empty()) return;
  std::string pending = std::move(unread_);
  unread_.clear();
  process(pending.data(), pending.size());
  updateReading();
}

void WebSocketConnection::process(char* data, size_t size) {
  while (size > 0 && (state_ == State::kOpen || state_ == State::kClosing)) {
    if (state_ == State::kOpen && inbox_.size() >= server_.options().max_queue) {
      unread_.append(data, size);  // parsed once the app takes messages
      return;
    }
    ReadResult result = engine_->read(data, size, frame_);
    data += result.consumed;
    size -= result.consumed;
    if (result.status == ReadStatus::kError) {
      fail(result.close_code, result.error);
      return;
    }
    if (result.status != ReadStatus::kFrame) return;
    onFrame(frame_);
  }
}

void WebSocketConnection::onFrame(Frame& frame) {
  switch (frame.opcode) {
    case Opcode::kText:
    case Opcode::kBinary:
      if (state_ != State::kOpen) return;  // after our close, data is dropped (RFC 6455 7.1.1)
      inbox_.push_back(Message{frame.opcode == Opcode::kText, std::move(frame.payload),
                               std::move(frame.external)});
      frame.payload = std::string();
      if (observer_ != nullptr) {
        transport_.set().wakeSoon();
        observer_->onMessageReady();
      }
      return;
    case Opcode::kPing:
      if (!close_sent_) {
        transport_.output().build(
            [&](std::string& out) { WsEngine::writeControl(Opcode::kPong, frame.payload, out); });
        transport_.scheduleFlush();
      }
      return;
    case Opcode::kPong:
      // Any pong shows the peer is alive (RFC 6455 5.5.3 allows unsolicited ones).
      if (pong_deadline_ != 0) {
        pong_deadline_ = 0;
        armTimer();
      }
      return;
    case Opcode::kClose:
      onPeerClose(frame);
      return;
    case Opcode::kContinuation:
      return;  // the engine reassembles; never reported
  }
}

void WebSocketConnection::onPeerClose(Frame& frame) {
  if (!close_sent_) {
    // RFC 6455 5.5.1: answer with a close, echoing the code (none if the peer sent none).
    close_sent_ = true;
    transport_.output().build([&](std::string& out) {
      if (frame.close_code == close_code::kNoStatus) {
        WsEngine::writeControl(Opcode::kClose, "", out);
      } else {
        WsEngine::writeClose(frame.close_code, "", out);
      }
    });
  }
  endSession(frame.close_code, std::move(frame.payload));
  setState(State::kClosed);
  // RFC 6455 7.1.1: once the close handshake is done the server closes TCP first.
  transport_.closeAfterWrite();
}

void WebSocketConnection::fail(uint16_t code, const char* why) {
  log::clientNoise("conn {} {}: WebSocket failed ({}): {}", transport_.id(), transport_.peer().host,
                   code, why);
  if (!close_sent_) sendClose(code, "");
  endSession(code, "");
  setState(State::kClosed);
  transport_.closeAfterWrite();
}

void WebSocketConnection::sendClose(uint16_t code, std::string_view reason) {
  close_sent_ = true;
  transport_.output().build([&](std::string& out) { WsEngine::writeClose(code, reason, out); });
  transport_.scheduleFlush();
}

// The app learns (from its next receive, after the messages already queued) that the
// WebSocket ended and how.
void WebSocketConnection::endSession(uint16_t code, std::string reason, bool abort) {
  if (ended_) return;
  ended_ = true;
  close_info_ = CloseInfo{code, std::move(reason)};
  if (observer_ != nullptr && !abort) {
    transport_.set().wakeSoon();
    observer_->onMessageReady();
  }
}

void WebSocketConnection::onPeerClosed() {
  // The peer shut its side without a close frame (or after it, if we are lingering, which the
  // transport handles without telling us).
  transport_.close(net::CloseReason::kPeerGone);
}

void WebSocketConnection::onFlushed() {
  if (!unread_.empty() &&
      (state_ == State::kClosing ||
       (state_ == State::kOpen && inbox_.size() < server_.options().max_queue))) {
    processBuffered();
  }
  if (writer_waiting_ && transport_.output().bytes() <= kOutputLowWater && observer_ != nullptr) {
    writer_waiting_ = false;
    transport_.set().wakeSoon();
    observer_->onWritable();
  }
}

void WebSocketConnection::onTimeout() {
  double now = ev_now(transport_.set().loop());
  if (state_ == State::kClosing) {
    log::clientNoise("conn {} {}: no close frame from the peer in {}s: dropping it",
                     transport_.id(), transport_.peer().host, server_.options().close_timeout);
    transport_.close(net::CloseReason::kLocal);
    return;
  }
  if (state_ != State::kOpen) return;
  if (pong_deadline_ != 0 && now >= pong_deadline_) {
    fail(close_code::kInternalError, "no pong within --ws-ping-timeout");
    return;
  }
  if (next_ping_at_ != 0 && now >= next_ping_at_) {
    transport_.output().build([&](std::string& out) {
      WsEngine::writeControl(Opcode::kPing, std::to_string(++ping_count_), out);
    });
    transport_.scheduleFlush();
    const WebSocketOptions& options = server_.options();
    if (options.ping_timeout > 0 && pong_deadline_ == 0)
      pong_deadline_ = now + options.ping_timeout;
    next_ping_at_ = now + options.ping_interval;
  }
  armTimer();
}

void WebSocketConnection::onShutdown() {
  // A WebSocket is one long exchange: like an HTTP request in flight, it goes on during the
  // graceful period, and the server closes it at the end (goAway) unless the app or the peer
  // did first.
}

void WebSocketConnection::goAway(uint16_t code) {
  if (state_ == State::kHandshake) {
    refuse(503);
  } else if (state_ == State::kOpen) {
    close(code, "");
    endSession(code, "");
  }
}

void WebSocketConnection::onClosed(net::CloseReason reason) {
  State was = state_;
  state_ = State::kClosed;
  if (was == State::kHandshake || was == State::kDenying) logAccess(kClientClosedStatus);
  endSession(close_code::kAbnormal, "", true);
  server_.closed(this);
  if (counted_active_) {
    counted_active_ = false;
    server_.http().requestEnded();
  }
  if (observer_ != nullptr) {
    SessionObserver* observer = observer_;
    observer_ = nullptr;
    observer->onDisconnect(reason == net::CloseReason::kAborted);
  }
}

bool WebSocketConnection::accept(std::string_view subprotocol, std::vector<Header> headers) {
  if (state_ != State::kHandshake) return false;
  const http::ServerOptions& options = server_.http().options();
  std::vector<Header> all = std::move(handshake_headers_);
  if (!subprotocol.empty()) all.emplace_back("sec-websocket-protocol", subprotocol);
  for (Header& header : headers) all.push_back(std::move(header));
  transport_.output().build([&](std::string& out) {
    http::writeRawHead(101, all, options.date_header ? server_.http().date() : "",
                       server_.http().serverName(), out);
  });
  transport_.scheduleFlush();
  logAccess(101);
  const WebSocketOptions& ws = server_.options();
  if (ws.ping_interval > 0) next_ping_at_ = ev_now(transport_.set().loop()) + ws.ping_interval;
  setState(State::kOpen);
  // Bytes that came early are parsed from the flush pass (scheduled above), not inside the
  // app's call.
  updateReading();
  return true;
}

void WebSocketConnection::denyStart(int status, std::vector<Header> headers) {
  if (state_ != State::kHandshake) return;
  deny_status_ = status >= 200 && status <= 999 ? status : 500;
  deny_headers_ = std::move(headers);
  setState(State::kDenying);
  updateReading();
}

SendStatus WebSocketConnection::denyBody(const char* data, size_t size, bool more) {
  if (state_ != State::kDenying) return SendStatus::kClosed;
  // Denial bodies are short pages: kept whole, then sent with a Content-Length.
  deny_body_.append(data, size);
  if (!more) writeDenial();
  return SendStatus::kOk;
}

void WebSocketConnection::writeDenial() {
  const http::ServerOptions& options = server_.http().options();
  http::ResponseHeadInput input;
  input.status = deny_status_;
  input.app_headers = &deny_headers_;
  input.request_is_head = false;
  input.whole_body_length = deny_body_.size();
  input.date = options.date_header ? server_.http().date() : "";
  input.server = server_.http().serverName();
  input.extra_headers = &options.extra_headers;
  input.force_close = true;
  transport_.output().build([&](std::string& out) {
    http::writeResponseHead(input, out);
    out += deny_body_;
  });
  logAccess(deny_status_);
  setState(State::kClosed);
  transport_.closeAfterWrite();
}

void WebSocketConnection::refuse(int status) {
  const http::ServerOptions& options = server_.http().options();
  transport_.output().build([&](std::string& out) {
    http::writeSimpleResponse(status, options.date_header ? server_.http().date() : "",
                              server_.http().serverName(), false, out);
  });
  logAccess(status);
  setState(State::kClosed);
  transport_.closeAfterWrite();
}

void WebSocketConnection::reject() {
  // ASGI websocket spec: a close before the accept refuses the handshake with 403.
  if (state_ == State::kHandshake) refuse(403);
}

bool WebSocketConnection::takeMessage(Message& out) {
  if (inbox_.empty()) return false;
  out = std::move(inbox_.front());
  inbox_.pop_front();
  if (!unread_.empty() && inbox_.size() < server_.options().max_queue) {
    transport_.scheduleFlush();  // parse the rest from the flush pass, not inside this call
  }
  updateReading();
  return true;
}

SendStatus WebSocketConnection::send(bool text, const char* data, size_t size, ReleaseFn release,
                                     void* owner) {
  if (state_ != State::kOpen) {
    if (release != nullptr) release(owner);
    return SendStatus::kClosed;
  }
  Opcode opcode = text ? Opcode::kText : Opcode::kBinary;
  net::OutputQueue& output = transport_.output();
  std::string compressed;
  if (engine_->compress(data, size, compressed)) {
    output.build([&](std::string& out) {
      WsEngine::writeDataHeader(opcode, compressed.size(), true, out);
      out += compressed;
    });
    if (release != nullptr) release(owner);
  } else if (release != nullptr && size >= kZeroCopyMin) {
    output.build([&](std::string& out) { WsEngine::writeDataHeader(opcode, size, false, out); });
    output.appendExternal(data, size, release, owner);
  } else {
    output.build([&](std::string& out) {
      WsEngine::writeDataHeader(opcode, size, false, out);
      out.append(data, size);
    });
    if (release != nullptr) release(owner);
  }
  transport_.scheduleFlush();
  return SendStatus::kOk;
}

bool WebSocketConnection::writeBlocked() {
  bool blocked = transport_.output().bytes() > kOutputHighWater;
  if (blocked) writer_waiting_ = true;
  return blocked;
}

void WebSocketConnection::close(uint16_t code, std::string_view reason) {
  if (state_ != State::kOpen) return;
  sendClose(code, reason);
  close_deadline_ = ev_now(transport_.set().loop()) + server_.options().close_timeout;
  setState(State::kClosing);
  updateReading();
}

void WebSocketConnection::finish(bool failed) {
  observer_ = nullptr;
  switch (state_) {
    case State::kHandshake:
      // The app ended without answering the handshake (or raised before it).
      refuse(500);
      return;
    case State::kDenying:
      if (failed) {
        deny_status_ = 500;
        deny_headers_.clear();
        deny_body_.clear();
      }
      writeDenial();
      return;
    case State::kOpen:
      close(failed ? close_code::kInternalError : close_code::kNormal, "");
      return;
    case State::kClosing:
    case State::kClosed:
      return;
  }
}

void WebSocketConnection::logAccess(int status) {
  if (logged_ || !log::accessEnabled()) return;
  logged_ = true;
  const http::ServerOptions& options = server_.http().options();
  log::AccessRecord record;
  record.peer_host = origin_.client_known      ? std::string_view(origin_.client.host)
                     : transport_.unixSocket() ? std::string_view("unix")
                                               : std::string_view("-");
  record.peer_port = origin_.client.port;
  record.method = head_.method;
  record.target = head_.target;
  record.http_major = head_.http_major;
  record.http_minor = head_.http_minor;
  record.status = status;
  record.body_bytes = 0;
  record.duration_ns = monotonicNs() - start_ns_;
  record.request_headers = &head_.headers;
  record.response_headers = &deny_headers_;
  record.extra_response_headers = &options.extra_headers;
  std::string line;
  options.access_format.render(record, line, log::accessColor());
  log::access().log(spdlog::level::info, spdlog::string_view_t(line.data(), line.size()));
}

}  // namespace asgid::ws
