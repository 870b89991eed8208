// Principle: a log line that a client can trigger at will (a bad request, a timeout, a reset)
// must not let that client fill the disk or spend the worker's CPU on logging. Such lines go
// through clientNoise(), a token bucket shared by the process: a burst is logged in full, a
// flood is cut to a few lines a second, and the next line that passes says how many were
// dropped.
#pragma once

#include <cstdint>
#include <utility>

#include "common/log.h"

namespace asgid::log {

class RateLimit {
 public:
  RateLimit(double per_second, double burst)
      : per_second_(per_second), burst_(burst), tokens_(burst) {}
  // Whether a line may be written at `now` (seconds, monotonic); counts the ones refused.
  bool allow(double now);
  // Lines refused since this was last called.
  uint64_t takeSuppressed() { return std::exchange(suppressed_, 0); }

 private:
  double per_second_;
  double burst_;
  double tokens_;
  double last_ = -1;
  uint64_t suppressed_ = 0;
};

// The process's limit for client-triggered lines (20 a second, bursts of 100).
RateLimit& clientNoiseLimit();
double monotonicSeconds();

template <typename... Args>
void clientNoise(spdlog::format_string_t<Args...> format, Args&&... args) {
  RateLimit& limit = clientNoiseLimit();
  if (!main().should_log(spdlog::level::info) || !limit.allow(monotonicSeconds())) return;
  if (uint64_t dropped = limit.takeSuppressed(); dropped > 0) {
    main().info("({} similar client-triggered lines were not logged)", dropped);
  }
  main().info(format, std::forward<Args>(args)...);
}

}  // namespace asgid::log
