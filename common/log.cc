#include "common/log.h"

#include <pwd.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <string.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <stdexcept>
#include <vector>

#include "common/log_file.h"
#include "common/log_format.h"

namespace asgid::log {
namespace {

std::shared_ptr<spdlog::logger> g_main;
std::shared_ptr<spdlog::logger> g_access;
spdlog::sink_ptr g_error_sink;
spdlog::sink_ptr g_access_sink;
bool g_access_enabled = true;
std::string g_error_file;  // absolute, or "" for the standard stream
std::string g_access_file;
Format g_format;
bool g_access_color = false;

bool isStream(const std::string& file) {
  return file.empty() || file == "-";
}

// Absolute: a reopen after --chdir must find the same file.
std::string absolutePath(const std::string& file) {
  if (isStream(file)) return "";
  std::error_code error;
  std::filesystem::path path = std::filesystem::absolute(file, error);
  return error ? file : path.lexically_normal().string();
}

spdlog::sink_ptr openSink(const std::string& file, const FileOwner& owner) {
  OpenedFile opened = openLogFile(file, owner);
  if (!opened.fd) {
    throw std::runtime_error(file + ": " + opened.what + ": " + strerror(opened.error));
  }
  return std::make_shared<FdFileSink>(std::move(opened.fd), file);
}

spdlog::sink_ptr makeSink(const std::string& file, bool error, const FileOwner& owner) {
  if (!isStream(file)) return openSink(file, owner);
  if (error) return std::make_shared<spdlog::sinks::stderr_sink_mt>();
  return std::make_shared<spdlog::sinks::stdout_sink_mt>();
}

spdlog::level::level_enum toSpd(Level level) {
  switch (level) {
    case Level::kTrace:
      return spdlog::level::trace;
    case Level::kDebug:
      return spdlog::level::debug;
    case Level::kInfo:
      return spdlog::level::info;
    case Level::kWarning:
      return spdlog::level::warn;
    case Level::kError:
      return spdlog::level::err;
    case Level::kCritical:
      return spdlog::level::critical;
  }
  return spdlog::level::info;
}

// The decorations a destination takes: `file` is "" for the standard stream `fd`.
LineStyle destinationStyle(const std::string& file, int fd) {
  LineStyle style;
  if (!file.empty()) return style;  // a file: never colour, never priorities
  style.journal = isJournalStream(fd, getenv("JOURNAL_STREAM"));
  style.color = !style.journal && (g_format.colors == Colors::kAlways ||
                                   (g_format.colors == Colors::kAuto && isatty(fd) == 1));
  return style;
}

void makeLoggers(spdlog::level::level_enum level) {
  LineStyle error_style = destinationStyle(g_error_file, STDERR_FILENO);
  error_style.json = g_format.json;
  error_style.color = error_style.color && !g_format.json;
  LineStyle access_style = destinationStyle(g_access_file, STDOUT_FILENO);
  access_style.raw = g_format.access_raw;
  g_access_color = access_style.color && !g_format.access_raw;
  access_style.color = false;  // the default access line colours its status itself
  // Every line is flushed: a tail -f, logrotate's reader or journald sees it at once.
  g_main = std::make_shared<spdlog::logger>("asgid", g_error_sink);
  g_main->set_formatter(std::make_unique<LineFormatter>(error_style, access_style));
  g_main->set_level(level);
  g_main->flush_on(spdlog::level::trace);
  // Unnamed: the formatter knows an access line by its empty logger name, which matters when
  // both logs share one file (one sink, one formatter).
  g_access = std::make_shared<spdlog::logger>("", g_access_sink);
  g_access->set_formatter(std::make_unique<LineFormatter>(error_style, access_style));
  g_access->set_level(spdlog::level::info);
  g_access->flush_on(spdlog::level::info);
}

std::string currentUser() {
  uid_t uid = geteuid();
  const passwd* user = getpwuid(uid);
  std::string name = user != nullptr ? user->pw_name : "?";
  return name + " (uid " + std::to_string(uid) + ")";
}

struct ReopenFailure {
  const char* which;
  std::string file;
  OpenedFile opened;
};

// Keeps `sink` when its file cannot be opened again: no line is lost, it goes to the old file.
void reopenSink(const char* which, const std::string& file, spdlog::sink_ptr& sink,
                std::vector<ReopenFailure>& failures) {
  if (file.empty()) return;
  OpenedFile opened = openLogFile(file);
  if (opened.fd) {
    sink = std::make_shared<FdFileSink>(std::move(opened.fd), file);
  } else {
    failures.push_back({which, file, std::move(opened)});
  }
}

}  // namespace

void setup(Level level, bool access_log, const std::string& error_file,
           const std::string& access_file, const FileOwner& owner) {
  const std::string error_path = absolutePath(error_file);
  const std::string access_path = absolutePath(access_file);
  spdlog::sink_ptr error_sink = makeSink(error_path, true, owner);
  // One file for both logs: one descriptor, one sink.
  spdlog::sink_ptr access_sink = !access_path.empty() && access_path == error_path
                                     ? error_sink
                                     : makeSink(access_path, false, owner);
  g_error_file = error_path;
  g_access_file = access_path;
  g_error_sink = std::move(error_sink);
  g_access_sink = std::move(access_sink);
  g_access_enabled = access_log;
  makeLoggers(toSpd(level));
}

int reopen() {
  if (!g_main) return 0;
  std::vector<ReopenFailure> failures;
  const bool shared = g_error_sink == g_access_sink;
  reopenSink("error", g_error_file, g_error_sink, failures);
  if (shared) {
    g_access_sink = g_error_sink;
  } else {
    reopenSink("access", g_access_file, g_access_sink, failures);
  }
  makeLoggers(g_main->level());
  const std::string user = failures.empty() ? "" : currentUser();
  for (const auto& failure : failures) {
    const int error = failure.opened.error;
    g_main->error(
        "Cannot reopen the {} log file {} as user {}: {}: {} (errno {} {}); its lines keep going "
        "to the file that was open before",
        failure.which, failure.file, user, failure.opened.what, strerror(error), error,
        strerrorname_np(error) ? strerrorname_np(error) : "?");
  }
  return static_cast<int>(failures.size());
}

void setFormat(const Format& format) {
  g_format = format;
  if (g_main) makeLoggers(g_main->level());
}

void setWorker(int index) {
  setLineWorker(index);
}

bool accessColor() {
  return g_access_color;
}

void record(Level level, std::string_view logger, std::string_view message,
            std::string_view exception) {
  spdlog::logger& error_log = main();
  RecordException current(exception);
  spdlog::details::log_msg line(spdlog::string_view_t(logger.data(), logger.size()), toSpd(level),
                                spdlog::string_view_t(message.data(), message.size()));
  // Straight to the sinks: the logger's own level is asgid's; the Python side filtered already.
  for (const spdlog::sink_ptr& sink : error_log.sinks()) {
    if (sink->should_log(line.level)) sink->log(line);
  }
}

spdlog::logger& main() {
  if (!g_main) setup(Level::kInfo, true);
  return *g_main;
}

spdlog::logger& access() {
  if (!g_access) setup(Level::kInfo, true);
  return *g_access;
}

bool accessEnabled() {
  return g_access_enabled;
}

std::string sanitize(std::string_view text, size_t max) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(std::min(text.size(), max) + 8);
  for (unsigned char c : text) {
    if (out.size() >= max) {
      out += "...";
      break;
    }
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  return out;
}

}  // namespace asgid::log
