#include "worker/websocket/websocket_server.h"

#include <memory>
#include <vector>

#include "worker/http/response_head.h"
#include "worker/websocket/websocket_connection.h"
#include "worker/websocket/ws_engine.h"

namespace asgid::ws {

WebSocketOptions webSocketOptions(const config::Settings& settings) {
  return WebSocketOptions{
      .max_message_size = static_cast<size_t>(settings.ws_max_size),
      .max_queue = static_cast<size_t>(settings.ws_max_queue),
      .ping_interval = settings.ws_ping_interval,
      .ping_timeout = settings.ws_ping_timeout,
      .per_message_deflate = settings.ws_per_message_deflate,
      // RFC 6455 7.1.1 leaves it open; websockets and uvicorn wait about as long.
      .close_timeout = 5.0,
  };
}

WebSocketServer::WebSocketServer(http::HttpServer& http, WebSocketOptions options,
                                 WebSocketHandler& handler)
    : http_(http), options_(options), handler_(handler) {
  http_.setUpgrader(this);
}

bool WebSocketServer::wants(const http::RequestHead& head) const {
  for (const auto& [name, value] : head.headers) {
    if (name == "upgrade" && http::containsTokenIgnoreCase(value, "websocket")) return true;
  }
  return false;
}

http::Upgrader::Refusal WebSocketServer::upgrade(net::Transport& transport, http::RequestHead& head,
                                                 const http::RequestOrigin& origin,
                                                 std::string leftover, uint64_t start_ns) {
  auto engine = std::make_unique<WsEngine>(options_.max_message_size, options_.per_message_deflate);
  HandshakeAnswer answer = engine->handshake(head.method, head.http_minor, head.headers);
  if (answer.status != 0) {
    return Refusal{answer.status, std::move(answer.headers), std::move(answer.error)};
  }
  auto connection = std::make_unique<WebSocketConnection>(
      *this, transport, std::move(head), origin, std::move(engine), std::move(answer), start_ns);
  WebSocketConnection* started = connection.get();
  transport.switchProtocol(std::move(connection), std::move(leftover));
  started->start();
  return {};
}

size_t WebSocketServer::closeAll() {
  // Copied: a connection may close (and leave the set) while it is told.
  std::vector<WebSocketConnection*> open(connections_.begin(), connections_.end());
  for (WebSocketConnection* connection : open) connection->goAway(drain_code_);
  return open.size();
}

}  // namespace asgid::ws
