#include "master/listener.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cstring>
#include <stdexcept>

namespace asgid::master {
namespace {

std::runtime_error socketError(const std::string& what, const std::string& address) {
  return std::runtime_error("cannot " + what + " " + address + ": " + strerror(errno));
}

int localPort(int fd) {
  sockaddr_storage address;
  socklen_t length = sizeof address;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) < 0) return 0;
  if (address.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<sockaddr_in6&>(address).sin6_port);
  }
  return ntohs(reinterpret_cast<sockaddr_in&>(address).sin_port);
}

BoundListener bindTcp(const std::string& host, int port, int backlog) {
  std::string shown = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  std::string address = shown + ":" + std::to_string(port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  std::string port_text = std::to_string(port);
  int rc = getaddrinfo(host.empty() ? nullptr : host.c_str(), port_text.c_str(), &hints, &found);
  if (rc != 0 || found == nullptr) {
    throw std::runtime_error("cannot resolve " + address + ": " + gai_strerror(rc));
  }
  UniqueFd fd(socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) {
    freeaddrinfo(found);
    throw socketError("create a socket for", address);
  }
  int one = 1;
  setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (found->ai_family == AF_INET6)
    setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  rc = bind(fd.get(), found->ai_addr, found->ai_addrlen);
  freeaddrinfo(found);
  if (rc < 0) throw socketError("bind", address);
  if (listen(fd.get(), backlog) < 0) throw socketError("listen on", address);
  BoundListener listener;
  listener.info.port = localPort(fd.get());
  listener.info.host = host;
  listener.info.fd = fd.get();
  listener.url = "http://" + shown + ":" + std::to_string(listener.info.port);
  listener.fd = std::move(fd);
  return listener;
}

BoundListener bindUnix(const std::string& path, int backlog) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path) {
    throw std::runtime_error("unix socket path too long: " + path);
  }
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) throw socketError("create a socket for", path);
  // A stale socket file from an earlier run would make bind fail; remove only sockets.
  struct stat info;
  if (lstat(path.c_str(), &info) == 0 && S_ISSOCK(info.st_mode)) unlink(path.c_str());
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) < 0) {
    throw socketError("bind", "unix:" + path);
  }
  if (listen(fd.get(), backlog) < 0) throw socketError("listen on", "unix:" + path);
  BoundListener listener;
  listener.info.fd = fd.get();
  listener.info.unix_socket = true;
  listener.info.host = path;
  listener.info.port = -1;
  listener.url = "unix:" + path;
  listener.fd = std::move(fd);
  return listener;
}

}  // namespace

std::vector<BoundListener> bindListeners(const config::Settings& settings) {
  std::vector<BoundListener> listeners;
  if (!settings.uds.empty()) {
    listeners.push_back(bindUnix(settings.uds, settings.backlog));
  } else {
    listeners.push_back(bindTcp(settings.host, settings.port, settings.backlog));
  }
  return listeners;
}

}  // namespace asgid::master
