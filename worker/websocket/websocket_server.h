// Principle: WebSocket is the HttpServer's upgrade protocol. This object is the Upgrader the
// HTTP/1.1 connections hand upgrade requests to: it checks the handshake (WsEngine) and moves
// the transport over to a WebSocketConnection. It holds what the WebSocket connections of a
// worker share: the options, the application handler and the close code for draining.
#pragma once

#include <cstddef>
#include <cstdint>
#include <unordered_set>

#include "config/settings.h"
#include "worker/http/http_server.h"
#include "worker/http/upgrade.h"
#include "worker/websocket/session.h"

namespace asgid::ws {

class WebSocketConnection;

// What the WebSocket connections take from the settings (which hold every default).
struct WebSocketOptions {
  size_t max_message_size;
  size_t max_queue;      // messages buffered for the app before reads stop
  double ping_interval;  // 0: no pings
  double ping_timeout;   // 0: wait for pongs forever
  bool per_message_deflate;
  double close_timeout;  // how long a peer may take to answer our close frame
};

WebSocketOptions webSocketOptions(const config::Settings& settings);

class WebSocketServer final : public http::Upgrader {
 public:
  WebSocketServer(http::HttpServer& http, WebSocketOptions options, WebSocketHandler& handler);

  // http::Upgrader.
  bool wants(const http::RequestHead& head) const override;
  Refusal upgrade(net::Transport& transport, http::RequestHead& head,
                  const http::RequestOrigin& origin, std::string leftover,
                  uint64_t start_ns) override;

  // The close code open WebSockets get when the server drains: 1001 (going away) when it
  // stops, 1012 (service restart) when the worker is being replaced (reload, recycling).
  void setDrainCode(uint16_t code) { drain_code_ = code; }
  uint16_t drainCode() const { return drain_code_; }

  // The end of the graceful period: WebSockets still open get a close frame with the drain
  // code (their apps a websocket.disconnect), handshakes still waiting for the app get 503.
  // Returns how many there were.
  size_t closeAll();

  // For connections: the ones alive, so closeAll can reach them.
  void opened(WebSocketConnection* connection) { connections_.insert(connection); }
  void closed(WebSocketConnection* connection) { connections_.erase(connection); }

  http::HttpServer& http() { return http_; }
  const WebSocketOptions& options() const { return options_; }
  WebSocketHandler& handler() { return handler_; }

 private:
  http::HttpServer& http_;
  WebSocketOptions options_;
  WebSocketHandler& handler_;
  uint16_t drain_code_ = 1001;
  std::unordered_set<WebSocketConnection*> connections_;
};

}  // namespace asgid::ws
