// Logging: one error/info logger ("asgid") and one access logger ("access"), both spdlog.
// Every line carries the process id; connection-level lines add the connection id and peer.
#pragma once

#include <spdlog/spdlog.h>

#include <string>
#include <string_view>

#include "common/log_file.h"

namespace asgid::log {

enum class Level { kTrace, kDebug, kInfo, kWarning, kError, kCritical };

// Sets up both loggers: the error log on stderr or `error_file`, the access log on stdout or
// `access_file` ("" or "-": the standard stream). Files are appended to, and what is created
// for them (the file, missing directories) is given to `owner`: the --user/--group that will
// reopen them (see log_file.h). Relative names are made absolute. Throws std::runtime_error
// naming the file if one cannot be opened.
void setup(Level level, bool access_log, const std::string& error_file = "",
           const std::string& access_file = "", const FileOwner& owner = {});
// Opens the log files again by name, as the calling process's user (SIGUSR1, after logrotate
// moved them). A file that cannot be opened keeps its old descriptor, so no line is lost, and
// gets one error line naming the file, the user and the errno. Returns the number of files
// that could not be reopened: 0 is the only success. Not thread-safe; call it from the loop.
int reopen();

// The loggers; valid after setup(). Before it, spdlog's default logger is used.
spdlog::logger& main();
spdlog::logger& access();
bool accessEnabled();

// Returns `text` with control characters and non-ASCII bytes escaped and at most `max` bytes
// long, for logging untrusted input (request lines, header samples).
std::string sanitize(std::string_view text, size_t max = 200);

}  // namespace asgid::log
