#include "worker/http/http_server.h"

#include <unistd.h>

#include "common/client_log.h"
#include "worker/http/http_connection.h"
#include "worker/net/proxy_header_reader.h"
#include "worker/net/transport.h"

namespace asgid::http {

HttpServer::HttpServer(struct ev_loop* loop, ServerOptions options, RequestHandler& handler)
    : loop_(loop),
      options_(std::move(options)),
      handler_(handler),
      transports_(loop, net::TransportOptions{.send_timeout = options_.timeout_send}),
      acceptor_(
          loop,
          [this](int fd, net::Endpoint peer, const ListenerInfo& listener) {
            serve(fd, std::move(peer), listener);
          },
          [this] { return transports_.size(); }) {
  transports_.onRetired([this] { checkDrained(); });
}

HttpServer::~HttpServer() {
  acceptor_.stop();
  on_drained_ = nullptr;
  abortAll();  // while every member the connections use is still alive
}

void HttpServer::addListener(const ListenerInfo& listener) {
  acceptor_.add(listener);
}

void HttpServer::start() {
  acceptor_.start();
}

void HttpServer::serve(int fd, net::Endpoint peer, const ListenerInfo& listener) {
  if (!listener.proxy_protocol && !options_.proxy_protocol) {
    startHttp(transports_.add(fd, std::move(peer), listener), {});
    return;
  }
  // Only a trusted balancer may say who the client is; anyone else is not heard at all.
  if (!peerTrusted(peer, listener.unix_socket, options_.proxy.trusted)) {
    log::clientNoise("{}: not in --forwarded-allow-ips, may not send a PROXY header: closing",
                     listener.unix_socket ? "unix" : peer.host);
    ::close(fd);
    return;
  }
  net::Transport& transport = transports_.add(fd, std::move(peer), listener);
  auto reader = std::make_unique<net::ProxyHeaderReader>(
      transport, options_.timeout_request_header,
      [this](net::Transport& t, std::string leftover) { startHttp(t, std::move(leftover)); });
  net::ProxyHeaderReader& stage = *reader;
  transport.start(std::move(reader));
  stage.start();
}

void HttpServer::startHttp(net::Transport& transport, std::string leftover) {
  auto connection = std::make_unique<HttpConnection>(*this, transport);
  HttpConnection& http = *connection;
  if (transport.hasProtocol()) {
    transport.switchProtocol(std::move(connection), {});
  } else {
    transport.start(std::move(connection));
  }
  http.start();
  if (!leftover.empty()) http.onData(leftover.data(), leftover.size());
}

std::string_view HttpServer::date() {
  const auto second = static_cast<int64_t>(ev_now(loop_));
  if (second != date_second_) {
    date_second_ = second;
    date_ = httpDate(second);
  }
  return date_;
}

void HttpServer::beginShutdown(std::function<void()> on_drained) {
  shutting_down_ = true;
  on_drained_ = std::move(on_drained);
  acceptor_.stop();
  transports_.forEach([](net::Transport& transport) { transport.notifyShutdown(); });
  checkDrained();
}

void HttpServer::abortAll() {
  transports_.forEach(
      [](net::Transport& transport) { transport.close(net::CloseReason::kAborted); });
}

void HttpServer::checkDrained() {
  if (!shutting_down_ || transports_.size() != 0 || !on_drained_) return;
  auto callback = std::move(on_drained_);
  on_drained_ = nullptr;
  callback();
}

}  // namespace asgid::http
