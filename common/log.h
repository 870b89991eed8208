// Logging: one error/info logger ("asgid") and one access logger ("access"), both spdlog.
// Every line carries the process id; connection-level lines add the connection id and peer.
#pragma once

#include <spdlog/spdlog.h>

#include <string>
#include <string_view>

namespace asgid::log {

enum class Level { kTrace, kDebug, kInfo, kWarning, kError, kCritical };

// Sets up both loggers on stderr (error log) and stdout (access log). Call once per process,
// and again after fork so the pid in the pattern is right.
void setup(Level level, bool access_log);

// The loggers; valid after setup(). Before it, spdlog's default logger is used.
spdlog::logger& main();
spdlog::logger& access();
bool accessEnabled();

// Returns `text` with control characters and non-ASCII bytes escaped and at most `max` bytes
// long, for logging untrusted input (request lines, header samples).
std::string sanitize(std::string_view text, size_t max = 200);

}  // namespace asgid::log
