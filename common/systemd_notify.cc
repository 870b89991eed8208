#include "common/systemd_notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>

#include "common/unique_fd.h"

namespace asgid::systemd {

bool enabled() {
  const char* path = getenv("NOTIFY_SOCKET");
  return path != nullptr && path[0] != '\0';
}

bool notify(const std::string& state) {
  const char* path = getenv("NOTIFY_SOCKET");
  if (path == nullptr || path[0] == '\0') return false;
  size_t length = strlen(path);
  sockaddr_un address{};
  if (length >= sizeof address.sun_path) return false;
  address.sun_family = AF_UNIX;
  memcpy(address.sun_path, path, length);
  if (address.sun_path[0] == '@') address.sun_path[0] = '\0';  // abstract namespace
  UniqueFd fd(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) return false;
  socklen_t size = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + length);
  return sendto(fd.get(), state.data(), state.size(), MSG_NOSIGNAL,
                reinterpret_cast<sockaddr*>(&address), size) == static_cast<ssize_t>(state.size());
}

double watchdogInterval() {
  const char* usec = getenv("WATCHDOG_USEC");
  if (usec == nullptr) return 0;
  const char* pid = getenv("WATCHDOG_PID");
  if (pid != nullptr && atol(pid) != static_cast<long>(getpid())) return 0;
  double seconds = strtod(usec, nullptr) / 1e6;
  return seconds > 0 ? seconds : 0;
}

}  // namespace asgid::systemd
