// The monotonic clock in nanoseconds, for durations in logs (not the loop's time).
#pragma once

#include <time.h>

#include <cstdint>

namespace asgid {

inline uint64_t monotonicNs() {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<uint64_t>(now.tv_sec) * 1000000000u + static_cast<uint64_t>(now.tv_nsec);
}

}  // namespace asgid
