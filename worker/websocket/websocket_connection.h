// Principle: the WebSocket protocol (RFC 6455) on one transport, after an HTTP/1.1 upgrade.
// The engine parses and writes frames; this class owns what the engine does not: the state,
// the messages waiting for the app, the close handshake, pings and their deadlines, and
// backpressure both ways. It reaches the application only through the WebSocketSession it
// implements and the SessionObserver the application attaches.
//
// State (one at a time; the deadline belongs to the state and is set in armTimer() alone):
//   kHandshake  the upgrade request is valid and the app decides (accept, deny, close). Bytes
//               that arrive are kept for later (a client must wait for the 101, RFC 6455 4.1).
//               No deadline: the app's time, as for an HTTP request; the transport's send
//               timeout covers a client that does not read.
//   kDenying    the app refuses with an HTTP response (websocket.http.response); then the
//               transport's lingering close.
//   kOpen       messages flow. Deadline: the next ping (--ws-ping-interval) and, once a ping
//               is out, its pong (--ws-ping-timeout; 1011 when it passes).
//   kClosing    our close frame is out; the peer's close is awaited for close_timeout, data
//               frames are dropped meanwhile (RFC 6455 7.1.1: the server closes TCP first).
//   kClosed     the transport closed, or is finishing its lingering close.
//
// Every method is called on the loop thread.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "worker/http/http_parser.h"
#include "worker/http/request_origin.h"
#include "worker/net/protocol.h"
#include "worker/net/transport.h"
#include "worker/websocket/session.h"
#include "worker/websocket/ws_engine.h"

namespace asgid::ws {

class WebSocketServer;

class WebSocketConnection final : public net::Protocol, public WebSocketSession {
 public:
  WebSocketConnection(WebSocketServer& server, net::Transport& transport, http::RequestHead head,
                      const http::RequestOrigin& origin, std::unique_ptr<WsEngine> engine,
                      HandshakeAnswer handshake, uint64_t start_ns);
  ~WebSocketConnection() override;
  WebSocketConnection(const WebSocketConnection&) = delete;
  WebSocketConnection& operator=(const WebSocketConnection&) = delete;

  enum class State { kHandshake, kDenying, kOpen, kClosing, kClosed };
  State state() const { return state_; }
  // Hands the session to the application (after the transport switched to this protocol).
  void start();
  // The graceful period of a draining server is over: close with `code` (open), or refuse
  // the handshake with 503 (still waiting for the app).
  void goAway(uint16_t code);

  // net::Protocol.
  void onData(const char* data, size_t size) override;
  void onPeerClosed() override;
  void onFlushed() override;
  void onTimeout() override;
  void onShutdown() override;
  void onClosed(net::CloseReason reason) override;

  // WebSocketSession.
  http::RequestInfo info() const override;
  const std::vector<std::string>& subprotocols() const override { return subprotocols_; }
  void attach(SessionObserver* observer) override { observer_ = observer; }
  bool accept(std::string_view subprotocol, std::vector<Header> headers) override;
  void denyStart(int status, std::vector<Header> headers) override;
  SendStatus denyBody(const char* data, size_t size, bool more) override;
  void reject() override;
  bool messageReady() const override { return !inbox_.empty(); }
  bool takeMessage(Message& out) override;
  SendStatus send(bool text, const char* data, size_t size, ReleaseFn release = nullptr,
                  void* owner = nullptr) override;
  bool writeBlocked() override;
  void close(uint16_t code, std::string_view reason) override;
  bool ended() const override { return ended_; }
  const CloseInfo& closeInfo() const override { return close_info_; }
  void finish(bool failed) override;

 private:
  void setState(State state);
  void armTimer();
  void process(char* data, size_t size);
  void processBuffered();
  void onFrame(Frame& frame);
  void onPeerClose(Frame& frame);
  void fail(uint16_t code, const char* why);
  void sendClose(uint16_t code, std::string_view reason);
  void endSession(uint16_t code, std::string reason, bool abort = false);
  void refuse(int status);
  void writeDenial();
  void updateReading();
  void logAccess(int status);

  WebSocketServer& server_;
  net::Transport& transport_;
  http::RequestHead head_;
  http::RequestOrigin origin_;  // its scheme is ws or wss
  std::unique_ptr<WsEngine> engine_;
  std::vector<Header> handshake_headers_;  // the 101's protocol headers
  std::vector<std::string> subprotocols_;
  State state_ = State::kHandshake;
  SessionObserver* observer_ = nullptr;

  std::deque<Message> inbox_;  // messages the app has not taken
  std::string unread_;         // bytes read but not yet parsed (handshake, full inbox)
  Frame frame_;                // reused for every frame read

  CloseInfo close_info_;
  bool ended_ = false;  // the app was (or will be) told the session ended
  bool close_sent_ = false;
  bool writer_waiting_ = false;
  bool counted_active_ = false;
  bool logged_ = false;
  double next_ping_at_ = 0;    // absolute loop time; 0: none
  double pong_deadline_ = 0;   // absolute loop time; 0: no ping is out
  double close_deadline_ = 0;  // absolute loop time (kClosing)
  uint64_t start_ns_ = 0;
  uint64_t ping_count_ = 0;

  // A denial response being streamed (kDenying).
  int deny_status_ = 0;
  std::vector<Header> deny_headers_;
  std::string deny_body_;
};

}  // namespace asgid::ws
