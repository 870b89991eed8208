#include "common/client_log.h"

#include <time.h>

#include <algorithm>

namespace asgid::log {

bool RateLimit::allow(double now) {
  if (last_ >= 0) tokens_ = std::min(burst_, tokens_ + (now - last_) * per_second_);
  last_ = now;
  if (tokens_ >= 1) {
    tokens_ -= 1;
    return true;
  }
  ++suppressed_;
  return false;
}

RateLimit& clientNoiseLimit() {
  static RateLimit limit(20, 100);
  return limit;
}

double monotonicSeconds() {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) / 1e9;
}

}  // namespace asgid::log
