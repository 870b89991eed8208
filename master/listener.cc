#include "master/listener.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "config/settings_table.h"

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

BoundListener bindTcp(const std::string& host, int port, int backlog, bool reuse_port) {
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
  // Several servers (or an old and a new deployment) may then bind the same port.
  if (reuse_port) setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
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

BoundListener bindUnix(const std::string& path, int backlog, int perms) {
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
  if (perms >= 0 && chmod(path.c_str(), static_cast<mode_t>(perms)) < 0) {
    throw socketError("chmod", "unix:" + path);
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

// A listening socket this process did not bind (--fd, systemd, a binary upgrade), described
// from the kernel's view of it.
BoundListener adopt(int fd, const std::string& origin) {
  sockaddr_storage address;
  socklen_t length = sizeof address;
  int listening = 0;
  socklen_t flag_length = sizeof listening;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) < 0 ||
      getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &flag_length) < 0 || !listening) {
    throw std::runtime_error(origin + ": fd " + std::to_string(fd) + " is not a listening socket");
  }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  fcntl(fd, F_SETFD, FD_CLOEXEC);
  BoundListener listener;
  listener.info.fd = fd;
  if (address.ss_family == AF_UNIX) {
    const auto& un = reinterpret_cast<const sockaddr_un&>(address);
    listener.info.unix_socket = true;
    listener.info.host = un.sun_path;
    listener.info.port = -1;
    listener.url = "unix:" + listener.info.host;
  } else {
    char text[INET6_ADDRSTRLEN] = {0};
    bool v6 = address.ss_family == AF_INET6;
    const void* raw =
        v6 ? static_cast<const void*>(&reinterpret_cast<sockaddr_in6&>(address).sin6_addr)
           : static_cast<const void*>(&reinterpret_cast<sockaddr_in&>(address).sin_addr);
    inet_ntop(address.ss_family, raw, text, sizeof text);
    listener.info.host = text;
    listener.info.port = localPort(fd);
    listener.url = std::string("http://") + (v6 ? "[" : "") + text + (v6 ? "]" : "") + ":" +
                   std::to_string(listener.info.port);
  }
  listener.fd = UniqueFd(fd);
  return listener;
}

std::vector<int> inheritedFds(std::vector<bool>& proxy_protocol) {
  std::vector<int> fds;
  // A binary upgrade (USR2) hands its listeners to the new master ("3,4p": 'p' marks a
  // listener that takes the PROXY protocol, which the socket itself cannot tell).
  if (const char* list = getenv(kInheritFdsEnv)) {
    std::string text = list;
    size_t start = 0;
    while (start < text.size()) {
      size_t comma = text.find(',', start);
      std::string item = text.substr(start, comma - start);
      fds.push_back(std::stoi(item));
      proxy_protocol.push_back(item.ends_with('p'));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    unsetenv(kInheritFdsEnv);
    return fds;
  }
  // systemd socket activation (sd_listen_fds(3)): fds 3.. when LISTEN_PID names us.
  const char* pid = getenv("LISTEN_PID");
  const char* count = getenv("LISTEN_FDS");
  if (pid != nullptr && count != nullptr && atol(pid) == static_cast<long>(getpid())) {
    for (int i = 0; i < atoi(count); ++i) fds.push_back(3 + i);
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
  }
  return fds;
}

BoundListener bindAddress(std::string address, const config::Settings& settings) {
  if (address.starts_with(config::kProxyBindPrefix) &&
      address.find(':', config::kProxyBindPrefix.size()) != std::string::npos) {
    BoundListener listener = bindAddress(address.substr(config::kProxyBindPrefix.size()), settings);
    listener.info.proxy_protocol = true;
    listener.url += " (PROXY protocol)";
    return listener;
  }
  if (address.rfind("unix:", 0) == 0) {
    return bindUnix(address.substr(5), settings.backlog, settings.uds_perms);
  }
  size_t colon = address.rfind(':');
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  int port = std::stoi(address.substr(colon + 1));
  return bindTcp(host, port, settings.backlog, settings.reuse_port);
}

}  // namespace

std::vector<BoundListener> bindListeners(const config::Settings& settings) {
  std::vector<BoundListener> listeners;
  std::vector<bool> inherited_proxy;
  std::vector<int> inherited = inheritedFds(inherited_proxy);
  bool upgraded = !inherited.empty();
  for (size_t i = 0; i < inherited.size(); ++i) {
    listeners.push_back(adopt(inherited[i], "inherited socket"));
    listeners.back().info.proxy_protocol = i < inherited_proxy.size() && inherited_proxy[i];
  }
  if (upgraded && getenv("ASGID_UPGRADE_PARENT") != nullptr) return listeners;
  for (int fd : settings.fds) listeners.push_back(adopt(fd, "--fd"));
  for (const auto& address : settings.bind) listeners.push_back(bindAddress(address, settings));
  if (listeners.empty()) {
    if (!settings.uds.empty()) {
      listeners.push_back(bindUnix(settings.uds, settings.backlog, settings.uds_perms));
    } else {
      listeners.push_back(
          bindTcp(settings.host, settings.port, settings.backlog, settings.reuse_port));
    }
  }
  return listeners;
}

}  // namespace asgid::master
