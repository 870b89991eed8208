// Binds the listening sockets before any worker exists (the master owns them; workers only
// accept). Throws std::runtime_error naming the address on failure.
#pragma once

#include <string>
#include <vector>

#include "common/unique_fd.h"
#include "config/settings.h"
#include "worker/http/http_server.h"

namespace asgid::master {

struct BoundListener {
  UniqueFd fd;
  http::ListenerInfo info;  // info.fd == fd.get(); the real port when port 0 was asked
  std::string url;          // for the "Listening on" line
};

// The listeners, in this order: sockets inherited from an upgrading master (only those) or
// from systemd (LISTEN_FDS), --fd, --bind; else --uds or --host/--port.
std::vector<BoundListener> bindListeners(const config::Settings& settings);

// The environment variable through which a binary upgrade passes its listeners ("3,4").
inline constexpr const char* kInheritFdsEnv = "ASGID_INHERIT_FDS";

}  // namespace asgid::master
