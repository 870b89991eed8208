#include "worker/http/request_id.h"

#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <cstdint>

namespace asgid::http {
namespace {

uint64_t randomPrefix() {
  uint64_t value = 0;
  if (getrandom(&value, sizeof value, 0) != static_cast<ssize_t>(sizeof value)) {
    // No entropy to be had: the pid and the time still keep workers apart.
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    value = (static_cast<uint64_t>(getpid()) << 40) ^ static_cast<uint64_t>(now.tv_nsec) ^
            (static_cast<uint64_t>(now.tv_sec) << 20);
  }
  return value;
}

void appendHex(uint64_t value, char* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = 15; i >= 0; --i) {
    out[i] = kHex[value & 0xf];
    value >>= 4;
  }
}

}  // namespace

std::string nextRequestId() {
  // Chosen on first use, which is in a worker (the master serves no request), after the fork.
  static const uint64_t prefix = randomPrefix();
  static uint64_t counter = 0;
  char id[32];
  appendHex(prefix, id);
  appendHex(++counter, id + 16);
  return std::string(id, sizeof id);
}

}  // namespace asgid::http
