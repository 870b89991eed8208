#include "worker/http/http_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <algorithm>

#include "common/log.h"
#include "worker/http/http_connection.h"

namespace asgid::http {
namespace {

// Accepts per readiness event per listener, so one busy listener cannot starve the loop.
constexpr int kAcceptBatch = 64;

Endpoint endpointOf(const sockaddr_storage& address) {
  Endpoint endpoint;
  char text[INET6_ADDRSTRLEN] = {0};
  if (address.ss_family == AF_INET) {
    const auto& in = reinterpret_cast<const sockaddr_in&>(address);
    inet_ntop(AF_INET, &in.sin_addr, text, sizeof text);
    endpoint.port = ntohs(in.sin_port);
  } else if (address.ss_family == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(address);
    inet_ntop(AF_INET6, &in6.sin6_addr, text, sizeof text);
    endpoint.port = ntohs(in6.sin6_port);
  }
  endpoint.host = text;
  return endpoint;
}

}  // namespace

HttpServer::HttpServer(struct ev_loop* loop, ServerOptions options, RequestHandler& handler)
    : loop_(loop),
      options_(std::move(options)),
      handler_(handler),
      read_buffer_(new char[kReadBufferSize]) {
  ev_prepare_init(&prepare_, onPrepare);
  prepare_.data = this;
  ev_prepare_start(loop_, &prepare_);
  ev_idle_init(&wake_, onIdle);
  wake_.data = this;
}

HttpServer::~HttpServer() {
  for (auto& listener : listeners_) ev_io_stop(loop_, &listener->watcher);
  std::vector<HttpConnection*> live = connections_;
  for (HttpConnection* connection : live) connection->abort();
  for (HttpConnection* connection : retired_) delete connection;
  ev_prepare_stop(loop_, &prepare_);
  ev_idle_stop(loop_, &wake_);
}

void HttpServer::addListener(const ListenerInfo& info) {
  auto listener = std::make_unique<Listener>();
  listener->info = info;
  listener->server = this;
  ev_io_init(&listener->watcher, onAcceptable, info.fd, EV_READ);
  listener->watcher.data = listener.get();
  listeners_.push_back(std::move(listener));
}

void HttpServer::start() {
  for (auto& listener : listeners_) ev_io_start(loop_, &listener->watcher);
}

void HttpServer::onAcceptable(struct ev_loop*, ev_io* watcher, int) {
  auto* listener = static_cast<Listener*>(watcher->data);
  listener->server->acceptFrom(*listener);
}

void HttpServer::acceptFrom(Listener& listener) {
  for (int i = 0; i < kAcceptBatch; ++i) {
    sockaddr_storage address;
    socklen_t length = sizeof address;
    int fd = ::accept4(listener.info.fd, reinterpret_cast<sockaddr*>(&address), &length,
                       SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        log::main().error("accept on {}: {}", listener.info.host, strerror(errno));
      }
      return;
    }
    Endpoint peer;
    if (!listener.info.unix_socket) {
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      peer = endpointOf(address);
    }
    auto* connection =
        new HttpConnection(*this, fd, next_connection_id_++, std::move(peer), listener.info);
    connection->server_index_ = connections_.size();
    connections_.push_back(connection);
    connection->start();
  }
}

std::string_view HttpServer::date() {
  const auto second = static_cast<int64_t>(ev_now(loop_));
  if (second != date_second_) {
    date_second_ = second;
    date_ = httpDate(second);
  }
  return date_;
}

void HttpServer::scheduleFlush(HttpConnection* connection) {
  if (connection->in_flush_list_) return;
  connection->in_flush_list_ = true;
  dirty_.push_back(connection);
}

void HttpServer::onPrepare(struct ev_loop*, ev_prepare* watcher, int) {
  static_cast<HttpServer*>(watcher->data)->flushAndReap();
}

void HttpServer::onIdle(struct ev_loop* loop, ev_idle* watcher, int) {
  ev_idle_stop(loop, watcher);
}

void HttpServer::wakeSoon() {
  if (!ev_is_active(&wake_)) ev_idle_start(loop_, &wake_);
}

void HttpServer::flushAndReap() {
  // A flush can start the next pipelined request, which can queue more: index, not iterator.
  for (size_t i = 0; i < dirty_.size(); ++i) dirty_[i]->flush();
  dirty_.clear();
  for (HttpConnection* connection : retired_) delete connection;
  retired_.clear();
}

void HttpServer::retire(HttpConnection* connection) {
  size_t index = connection->server_index_;
  if (index < connections_.size() && connections_[index] == connection) {
    connections_[index] = connections_.back();
    connections_[index]->server_index_ = index;
    connections_.pop_back();
  }
  retired_.push_back(connection);
  checkDrained();
}

void HttpServer::beginShutdown(std::function<void()> on_drained) {
  shutting_down_ = true;
  on_drained_ = std::move(on_drained);
  for (auto& listener : listeners_) ev_io_stop(loop_, &listener->watcher);
  std::vector<HttpConnection*> live = connections_;
  for (HttpConnection* connection : live) connection->shutdown();
  checkDrained();
}

void HttpServer::abortAll() {
  std::vector<HttpConnection*> live = connections_;
  for (HttpConnection* connection : live) connection->abort();
}

void HttpServer::checkDrained() {
  if (!shutting_down_ || !connections_.empty() || !on_drained_) return;
  auto callback = std::move(on_drained_);
  on_drained_ = nullptr;
  callback();
}

}  // namespace asgid::http
