#include "common/log.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <cstdio>
#include <memory>

namespace asgid::log {
namespace {

std::shared_ptr<spdlog::logger> g_main;
std::shared_ptr<spdlog::logger> g_access;
bool g_access_enabled = true;
Level g_level = Level::kInfo;
std::string g_error_file;
std::string g_access_file;

spdlog::sink_ptr makeSink(const std::string& file, bool error) {
  if (file.empty() || file == "-") {
    if (error) return std::make_shared<spdlog::sinks::stderr_sink_mt>();
    return std::make_shared<spdlog::sinks::stdout_sink_mt>();
  }
  return std::make_shared<spdlog::sinks::basic_file_sink_mt>(file, false);
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

}  // namespace

void setup(Level level, bool access_log, const std::string& error_file,
           const std::string& access_file) {
  g_level = level;
  g_error_file = error_file;
  g_access_file = access_file;
  // Every line is flushed: a tail -f, logrotate's reader or journald sees it at once.
  g_main = std::make_shared<spdlog::logger>("asgid", makeSink(error_file, true));
  g_main->set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%P] [%l] %v");
  g_main->set_level(toSpd(level));
  g_main->flush_on(spdlog::level::trace);
  g_access = std::make_shared<spdlog::logger>("access", makeSink(access_file, false));
  g_access->set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%P] %v");
  g_access->set_level(spdlog::level::info);
  g_access->flush_on(spdlog::level::info);
  g_access_enabled = access_log;
}

void reopen() {
  try {
    setup(g_level, g_access_enabled, g_error_file, g_access_file);
  } catch (const std::exception& error) {
    fprintf(stderr, "asgid: cannot reopen the log files: %s\n", error.what());
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
