// Addresses of a connection's two ends and of the listening sockets a worker serves.
#pragma once

#include <string>

namespace asgid::net {

struct Endpoint {
  std::string host;  // numeric address, or the socket path for a Unix socket
  int port = -1;     // -1 for Unix sockets
};

// A listening socket handed to a worker (the fd is not owned).
struct ListenerInfo {
  int fd = -1;
  bool unix_socket = false;
  std::string host;  // for scope["server"]; the path for a Unix socket
  int port = 0;
  // Connections start with a PROXY protocol header (--bind proxy:ADDRESS).
  bool proxy_protocol = false;
};

}  // namespace asgid::net
