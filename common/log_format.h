// How a log line is written: asgid's text line, a JSON object per line, colours on a terminal,
// and the sd-daemon priority prefix under journald.
//
// Principle: one record is one line for a machine reader. JSON lines keep a traceback inside the
// "exception" string (newlines escaped), so a log shipper never sees half a record; text lines
// keep today's shape ("[time] [pid] [level] message") so people and old greps are not surprised.
// Decorations that only make sense on a terminal (colour) are decided per destination, once, when
// the loggers are made: never in a file, never in the journal.
#pragma once

#include <spdlog/formatter.h>
#include <sys/types.h>

#include <memory>
#include <string>
#include <string_view>

namespace asgid::log {

// What a line looks like on one destination.
struct LineStyle {
  bool json = false;     // one JSON object per line (ts, level, pid, worker, logger, message,
                         // exception)
  bool raw = false;      // the message alone (an access line rendered by --access-log-format)
  bool color = false;    // ANSI colour on the level name (a terminal only)
  bool journal = false;  // "<N>" syslog priority before each line (stderr is the journal)
};

// Formats the lines of both loggers, which may share one sink (one file for both logs): a line
// of the access logger, whose name is empty, takes `access`, every other line `error`.
class LineFormatter final : public spdlog::formatter {
 public:
  LineFormatter(LineStyle error, LineStyle access) : error_(error), access_(access) {}
  void format(const spdlog::details::log_msg& message, spdlog::memory_buf_t& dest) override;
  std::unique_ptr<spdlog::formatter> clone() const override;

 private:
  LineStyle error_;
  LineStyle access_;
};

// The exception text of the record being written on this thread (a Python record's formatted
// traceback), set around the sink call by log::record(). Empty for asgid's own lines.
class RecordException {
 public:
  explicit RecordException(std::string_view text);
  ~RecordException();
  RecordException(const RecordException&) = delete;
  RecordException& operator=(const RecordException&) = delete;
  static std::string_view current();

 private:
  std::string_view previous_;
};

// The process id every line shows, without a system call per line (getpid() is one): cached,
// and refreshed in the child of every fork (pthread_atfork), Python's os.fork() included.
pid_t linePid();

// The worker index shown in JSON lines ("worker": N); 0, the master, is shown as null.
void setLineWorker(int index);

// Appends `text` as the inside of a JSON string: quote, backslash and control characters
// escaped (\n, \t, ... or \u00XX), and every byte that is not part of valid UTF-8 replaced by
// U+FFFD, so the line always parses and stays one line.
void appendJsonEscaped(std::string_view text, spdlog::memory_buf_t& out);
void appendJsonEscaped(std::string_view text, std::string& out);

// sd-daemon.h's priority for a level: 2 critical, 3 error, 4 warning, 6 info, 7 debug/trace.
int syslogPriority(int spdlog_level);

// Whether `fd` is the stream systemd connected to the journal: $JOURNAL_STREAM ("DEV:INODE", as
// systemd.exec(5) documents) names the same device and inode as fstat(fd). `journal_stream` is
// the variable's value (nullptr: unset).
bool isJournalStream(int fd, const char* journal_stream);
// The same test on a known device and inode (for tests).
bool matchesJournalStream(const char* journal_stream, dev_t device, ino_t inode);

}  // namespace asgid::log
