#include "worker/net/acceptor.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "common/client_log.h"

namespace asgid::net {
namespace {

// Accepts per readiness event per listener.
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

bool outOfResources(int error) {
  return error == EMFILE || error == ENFILE || error == ENOBUFS || error == ENOMEM;
}

}  // namespace

Acceptor::Acceptor(struct ev_loop* loop, AcceptFn on_accept,
                   std::function<size_t()> open_connections)
    : loop_(loop),
      on_accept_(std::move(on_accept)),
      open_connections_(std::move(open_connections)) {
  ev_init(&resume_, onResume);
  resume_.data = this;
}

Acceptor::~Acceptor() {
  stop();
}

void Acceptor::add(const ListenerInfo& info) {
  auto listener = std::make_unique<Listener>();
  listener->info = info;
  listener->acceptor = this;
  ev_io_init(&listener->watcher, onAcceptable, info.fd, EV_READ);
  listener->watcher.data = listener.get();
  listeners_.push_back(std::move(listener));
}

void Acceptor::start() {
  started_ = true;
  setWatching(!paused_);
}

void Acceptor::stop() {
  started_ = false;
  ev_timer_stop(loop_, &resume_);
  setWatching(false);
}

void Acceptor::setWatching(bool on) {
  for (auto& listener : listeners_) {
    if (on) {
      ev_io_start(loop_, &listener->watcher);
    } else {
      ev_io_stop(loop_, &listener->watcher);
    }
  }
}

void Acceptor::onAcceptable(struct ev_loop*, ev_io* watcher, int) {
  auto* listener = static_cast<Listener*>(watcher->data);
  listener->acceptor->acceptFrom(*listener);
}

void Acceptor::acceptFrom(Listener& listener) {
  for (int i = 0; i < kAcceptBatch && !paused_ && started_; ++i) {
    sockaddr_storage address;
    socklen_t length = sizeof address;
    int fd = ::accept4(listener.info.fd, reinterpret_cast<sockaddr*>(&address), &length,
                       SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      int error = errno;
      if (error == EINTR || error == ECONNABORTED) continue;
      if (outOfResources(error)) {
        pause(error);
      } else if (error != EAGAIN && error != EWOULDBLOCK) {
        // Per connection and peer-driven (a reset before accept, a firewall): rate limited.
        log::clientNoise("accept on {}: {}", listener.info.host, strerror(error));
      }
      return;
    }
    Endpoint peer;
    if (!listener.info.unix_socket) {
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      peer = endpointOf(address);
    }
    on_accept_(fd, std::move(peer), listener.info);
  }
}

void Acceptor::pause(int error) {
  paused_ = true;
  setWatching(false);
  struct rlimit limit {};
  getrlimit(RLIMIT_NOFILE, &limit);
  log::main().warn(
      "accept: {} with {} connection(s) open (open-file limit {}): not accepting for {}s",
      strerror(error), open_connections_(), static_cast<long long>(limit.rlim_cur), kPauseSeconds);
  ev_timer_set(&resume_, kPauseSeconds, 0.0);
  ev_timer_start(loop_, &resume_);
}

void Acceptor::onResume(struct ev_loop*, ev_timer* watcher, int) {
  auto* acceptor = static_cast<Acceptor*>(watcher->data);
  acceptor->paused_ = false;
  if (acceptor->started_) acceptor->setWatching(true);
}

}  // namespace asgid::net
