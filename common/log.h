// Logging: one error/info logger ("asgid") and one access logger ("access"), both spdlog.
// Every line carries the process id; connection-level lines add the connection id and peer.
#pragma once

#include <spdlog/spdlog.h>

#include <string>
#include <string_view>

namespace asgid::log {

enum class Level { kTrace, kDebug, kInfo, kWarning, kError, kCritical };

// Sets up both loggers: the error log on stderr or `error_file`, the access log on stdout or
// `access_file` ("" or "-": the standard stream). Throws spdlog::spdlog_ex if a file cannot be
// opened.
void setup(Level level, bool access_log, const std::string& error_file = "",
           const std::string& access_file = "");
// Opens the log files again (SIGUSR1, after logrotate moved them). Errors are reported on
// stderr and the old files kept.
void reopen();

// The loggers; valid after setup(). Before it, spdlog's default logger is used.
spdlog::logger& main();
spdlog::logger& access();
bool accessEnabled();

// Returns `text` with control characters and non-ASCII bytes escaped and at most `max` bytes
// long, for logging untrusted input (request lines, header samples).
std::string sanitize(std::string_view text, size_t max = 200);

}  // namespace asgid::log
