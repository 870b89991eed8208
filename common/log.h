// Logging: one error/info logger ("asgid") and one access logger ("access"), both spdlog.
// Every line carries the process id; connection-level lines add the connection id and peer.
// The app's Python logging records join the error log through record(), with their logger
// name. How lines look (text or JSON, colours, journald priorities) is log_format.h's.
#pragma once

#include <spdlog/spdlog.h>

#include <string>
#include <string_view>

#include "common/log_file.h"

namespace asgid::log {

enum class Level { kTrace, kDebug, kInfo, kWarning, kError, kCritical };
enum class Colors { kAuto, kAlways, kNever };

// How the lines look, chosen once at startup (setFormat()).
struct Format {
  bool json = false;              // --log-format json: the error log as JSON lines
  Colors colors = Colors::kAuto;  // --use-colors / --no-use-colors; auto: on a terminal only
  bool access_raw = false;        // --access-log-format other than the default: the rendered
                                  // line alone, no "[time] [pid]" before it
};

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
// Sets how lines look and remakes the loggers. Colour goes only to a standard stream that is a
// terminal (or any standard stream with Colors::kAlways), never to a file or the journal; a
// standard stream that is the journal ($JOURNAL_STREAM) gets "<N>" priority prefixes.
void setFormat(const Format& format);
// The worker index JSON lines show; 0 (the master) shows null.
void setWorker(int index);
// Whether the access log's destination takes colour (the default access line colours the
// status).
bool accessColor();

// Writes one record of the app's (a Python logging record) to the error log: `logger` is its
// logger name, `exception` its formatted traceback or empty. Not filtered by --log-level: the
// Python side has already filtered (its root logger's level follows --log-level).
void record(Level level, std::string_view logger, std::string_view message,
            std::string_view exception);

// The loggers; valid after setup(). Before it, spdlog's default logger is used.
spdlog::logger& main();
spdlog::logger& access();
bool accessEnabled();

// Returns `text` with control characters and non-ASCII bytes escaped and at most `max` bytes
// long, for logging untrusted input (request lines, header samples).
std::string sanitize(std::string_view text, size_t max = 200);

}  // namespace asgid::log
