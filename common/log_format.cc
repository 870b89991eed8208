#include "common/log_format.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <iterator>

namespace asgid::log {
namespace {

thread_local std::string_view t_exception;
int g_worker = 0;
pid_t g_pid = 0;

void refreshPid() {
  g_pid = getpid();
}

constexpr std::string_view kLevelNames[] = {"trace", "debug",    "info", "warning",
                                            "error", "critical", "off"};
// Level colours as terminals show them: debug dim, info green, warning yellow, error red.
constexpr std::string_view kLevelColors[] = {"\033[2m",  "\033[36m",   "\033[32m", "\033[33m",
                                             "\033[31m", "\033[1;31m", ""};
constexpr std::string_view kReset = "\033[0m";

void append(spdlog::memory_buf_t& out, std::string_view text) {
  out.append(text.data(), text.data() + text.size());
}

void appendUnsigned(spdlog::memory_buf_t& out, unsigned long value) {
  char digits[24];
  char* end = digits + sizeof digits;
  char* at = end;
  do {
    *--at = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  out.append(at, end);
}

// Local time "YYYY-MM-DD HH:MM:SS" (text) or "YYYY-MM-DDTHH:MM:SS" (JSON) for one second, and
// the zone offset; computed once per second per thread (localtime_r takes a lock).
struct SecondCache {
  time_t second = -1;
  char text[32];
  char offset[8];  // "+01:00"
};

const SecondCache& cachedSecond(time_t second) {
  thread_local SecondCache cache;
  if (cache.second != second) {
    struct tm local;
    localtime_r(&second, &local);
    strftime(cache.text, sizeof cache.text, "%Y-%m-%d %H:%M:%S", &local);
    long minutes = local.tm_gmtoff / 60;
    char sign = minutes < 0 ? '-' : '+';
    if (minutes < 0) minutes = -minutes;
    snprintf(cache.offset, sizeof cache.offset, "%c%02ld:%02ld", sign, minutes / 60 % 100,
             minutes % 60);
    cache.second = second;
  }
  return cache;
}

void appendTime(const spdlog::details::log_msg& message, bool iso, spdlog::memory_buf_t& out) {
  using namespace std::chrono;
  auto since_epoch = message.time.time_since_epoch();
  time_t second = static_cast<time_t>(duration_cast<seconds>(since_epoch).count());
  auto millis = duration_cast<milliseconds>(since_epoch).count() % 1000;
  const SecondCache& cache = cachedSecond(second);
  size_t length = strlen(cache.text);
  out.append(cache.text, cache.text + length);
  if (iso) out[out.size() - 9] = 'T';  // the separator between date and time
  char fraction[5] = {'.', static_cast<char>('0' + millis / 100),
                      static_cast<char>('0' + millis / 10 % 10),
                      static_cast<char>('0' + millis % 10), 0};
  out.append(fraction, fraction + 4);
  if (iso) append(out, cache.offset);
}

size_t levelIndex(spdlog::level::level_enum level) {
  size_t index = static_cast<size_t>(level);
  return index < std::size(kLevelNames) ? index : std::size(kLevelNames) - 1;
}

void appendPriority(spdlog::level::level_enum level, spdlog::memory_buf_t& out) {
  char prefix[3] = {'<', static_cast<char>('0' + syslogPriority(level)), '>'};
  out.append(prefix, prefix + 3);
}

// Appends `text`; under journald every line of it gets the record's priority (journald splits
// a stream at newlines and would give the lines of a traceback the default priority).
void appendLines(std::string_view text, const LineStyle& style, spdlog::level::level_enum level,
                 spdlog::memory_buf_t& out) {
  if (!style.journal) {
    append(out, text);
    return;
  }
  for (size_t newline; (newline = text.find('\n')) != std::string_view::npos;) {
    append(out, text.substr(0, newline + 1));
    appendPriority(level, out);
    text.remove_prefix(newline + 1);
  }
  append(out, text);
}

// The length of the valid UTF-8 sequence at `text[0]`, or 0 (RFC 3629: no overlongs, no
// surrogates, nothing above U+10FFFF).
size_t utf8Length(std::string_view text) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char first = byte(0);
  size_t length;
  unsigned char low = 0x80, high = 0xbf;
  if (first >= 0xc2 && first <= 0xdf) {
    length = 2;
  } else if (first >= 0xe0 && first <= 0xef) {
    length = 3;
    if (first == 0xe0) low = 0xa0;
    if (first == 0xed) high = 0x9f;
  } else if (first >= 0xf0 && first <= 0xf4) {
    length = 4;
    if (first == 0xf0) low = 0x90;
    if (first == 0xf4) high = 0x8f;
  } else {
    return 0;
  }
  if (text.size() < length) return 0;
  if (byte(1) < low || byte(1) > high) return 0;
  for (size_t i = 2; i < length; ++i) {
    if (byte(i) < 0x80 || byte(i) > 0xbf) return 0;
  }
  return length;
}

template <typename Out>
void escapeJson(std::string_view text, Out& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  size_t plain_start = 0;
  const auto flush = [&](size_t end) { out.append(text.data() + plain_start, text.data() + end); };
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      if (size_t length = utf8Length(text.substr(i)); length > 0) {
        i += length;
        continue;
      }
    }
    flush(i);
    const char* escape = nullptr;
    switch (c) {
      case '"':
        escape = "\\\"";
        break;
      case '\\':
        escape = "\\\\";
        break;
      case '\n':
        escape = "\\n";
        break;
      case '\r':
        escape = "\\r";
        break;
      case '\t':
        escape = "\\t";
        break;
      case '\b':
        escape = "\\b";
        break;
      case '\f':
        escape = "\\f";
        break;
      default:
        break;
    }
    if (escape != nullptr) {
      out.append(escape, escape + 2);
    } else if (c >= 0x80) {
      static constexpr char kReplacement[] = "\xef\xbf\xbd";  // U+FFFD
      out.append(kReplacement, kReplacement + 3);
    } else {
      const char unicode[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xf]};
      out.append(unicode, unicode + 6);
    }
    plain_start = ++i;
  }
  flush(text.size());
}

struct StringAppender {
  std::string& s;
  void append(const char* begin, const char* end) { s.append(begin, end); }
};

void appendJsonString(std::string_view text, spdlog::memory_buf_t& out) {
  out.push_back('"');
  appendJsonEscaped(text, out);
  out.push_back('"');
}

// "[2026-01-02 03:04:05.678] [1234] [info] message" as the pattern before it; a record from a
// Python logger adds its name: "[info] [app.db] message", and its traceback on the next lines.
// An access line (`access`) has no level.
void formatText(const spdlog::details::log_msg& message, const LineStyle& style, bool access,
                spdlog::memory_buf_t& dest) {
  dest.push_back('[');
  appendTime(message, false, dest);
  append(dest, "] [");
  appendUnsigned(dest, static_cast<unsigned long>(linePid()));
  append(dest, "] ");
  if (!access) {
    const size_t level = levelIndex(message.level);
    dest.push_back('[');
    if (style.color) append(dest, kLevelColors[level]);
    append(dest, kLevelNames[level]);
    if (style.color) append(dest, kReset);
    append(dest, "] ");
    std::string_view logger(message.logger_name.data(), message.logger_name.size());
    if (!logger.empty() && logger != "asgid") {
      dest.push_back('[');
      append(dest, logger);
      append(dest, "] ");
    }
  }
  appendLines(std::string_view(message.payload.data(), message.payload.size()), style,
              message.level, dest);
  std::string_view exception = RecordException::current();
  if (!exception.empty()) {
    dest.push_back('\n');
    if (style.journal) appendPriority(message.level, dest);
    if (exception.back() == '\n') exception.remove_suffix(1);
    appendLines(exception, style, message.level, dest);
  }
}

void formatJson(const spdlog::details::log_msg& message, spdlog::memory_buf_t& dest) {
  append(dest, "{\"ts\":\"");
  appendTime(message, true, dest);
  append(dest, "\",\"level\":\"");
  append(dest, kLevelNames[levelIndex(message.level)]);
  append(dest, "\",\"pid\":");
  appendUnsigned(dest, static_cast<unsigned long>(linePid()));
  append(dest, ",\"worker\":");
  if (g_worker > 0) {
    appendUnsigned(dest, static_cast<unsigned long>(g_worker));
  } else {
    append(dest, "null");
  }
  append(dest, ",\"logger\":");
  appendJsonString(std::string_view(message.logger_name.data(), message.logger_name.size()), dest);
  std::string_view text(message.payload.data(), message.payload.size());
  std::string_view exception = RecordException::current();
  if (exception.empty()) {
    // asgid's own lines carry a Python traceback after the message ("Exception in ASGI
    // application\nTraceback ..."): it belongs in "exception" as it does for app records.
    constexpr std::string_view kTraceback = "\nTraceback (most recent call last):\n";
    if (size_t at = text.find(kTraceback); at != std::string_view::npos) {
      exception = text.substr(at + 1);
      text = text.substr(0, at);
    }
  }
  append(dest, ",\"message\":");
  appendJsonString(text, dest);
  append(dest, ",\"exception\":");
  if (exception.empty()) {
    append(dest, "null");
  } else {
    if (exception.back() == '\n') exception.remove_suffix(1);
    appendJsonString(exception, dest);
  }
  dest.push_back('}');
}

}  // namespace

void appendJsonEscaped(std::string_view text, spdlog::memory_buf_t& out) {
  escapeJson(text, out);
}

void appendJsonEscaped(std::string_view text, std::string& out) {
  StringAppender appender{out};
  escapeJson(text, appender);
}

int syslogPriority(int spdlog_level) {
  switch (spdlog_level) {
    case spdlog::level::trace:
    case spdlog::level::debug:
      return 7;
    case spdlog::level::info:
      return 6;
    case spdlog::level::warn:
      return 4;
    case spdlog::level::err:
      return 3;
    default:
      return 2;
  }
}

bool matchesJournalStream(const char* journal_stream, dev_t device, ino_t inode) {
  if (journal_stream == nullptr || *journal_stream == '\0') return false;
  char* end = nullptr;
  unsigned long long want_device = strtoull(journal_stream, &end, 10);
  if (end == journal_stream || *end != ':') return false;
  const char* inode_text = end + 1;
  unsigned long long want_inode = strtoull(inode_text, &end, 10);
  if (end == inode_text || *end != '\0') return false;
  return want_device == static_cast<unsigned long long>(device) &&
         want_inode == static_cast<unsigned long long>(inode);
}

bool isJournalStream(int fd, const char* journal_stream) {
  if (journal_stream == nullptr) return false;
  struct stat info;
  if (fstat(fd, &info) < 0) return false;
  return matchesJournalStream(journal_stream, info.st_dev, info.st_ino);
}

RecordException::RecordException(std::string_view text) : previous_(t_exception) {
  t_exception = text;
}

RecordException::~RecordException() {
  t_exception = previous_;
}

std::string_view RecordException::current() {
  return t_exception;
}

pid_t linePid() {
  static const bool registered = [] {
    refreshPid();
    return pthread_atfork(nullptr, nullptr, refreshPid) == 0;
  }();
  return registered ? g_pid : getpid();
}

void setLineWorker(int index) {
  g_worker = index;
}

std::unique_ptr<spdlog::formatter> LineFormatter::clone() const {
  return std::make_unique<LineFormatter>(error_, access_);
}

void LineFormatter::format(const spdlog::details::log_msg& message, spdlog::memory_buf_t& dest) {
  const bool access = message.logger_name.size() == 0;
  const LineStyle& style = access ? access_ : error_;
  if (style.journal) appendPriority(message.level, dest);
  if (style.raw) {
    append(dest, std::string_view(message.payload.data(), message.payload.size()));
  } else if (style.json) {
    formatJson(message, dest);
  } else {
    formatText(message, style, access, dest);
  }
  dest.push_back('\n');
}

}  // namespace asgid::log
