#include "common/log_format.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "common/log.h"

namespace asgid::log {
namespace {

namespace fs = std::filesystem;

std::string escaped(std::string_view text) {
  std::string out;
  appendJsonEscaped(text, out);
  return out;
}

std::string render(const LineStyle& error, spdlog::level::level_enum level, std::string_view logger,
                   std::string_view message, std::string_view exception = {}) {
  LineFormatter formatter(error, LineStyle{});
  RecordException current(exception);
  spdlog::details::log_msg line(spdlog::string_view_t(logger.data(), logger.size()), level,
                                spdlog::string_view_t(message.data(), message.size()));
  spdlog::memory_buf_t out;
  formatter.format(line, out);
  return std::string(out.data(), out.size());
}

TEST(JsonEscapeTest, QuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(escaped("a\"b\\c"), "a\\\"b\\\\c");
  EXPECT_EQ(escaped("line1\nline2\r\tx"), "line1\\nline2\\r\\tx");
  EXPECT_EQ(escaped(std::string_view("\0\x01\x1f\x7f\b\f", 6)),
            "\\u0000\\u0001\\u001f\\u007f\\b\\f");
}

TEST(JsonEscapeTest, KeepsValidUtf8AndReplacesInvalidBytes) {
  EXPECT_EQ(escaped("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
            "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
  // A Latin-1 byte, a truncated sequence, an overlong '/' and a UTF-16 surrogate.
  EXPECT_EQ(escaped("caf\xe9!"), "caf\xef\xbf\xbd!");
  EXPECT_EQ(escaped("\xe2\x82"), "\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(escaped("\xc0\xaf"), "\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(escaped("\xed\xa0\x80"), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
}

TEST(LineFormatterTest, TextLineKeepsTheOldShape) {
  std::string line = render(LineStyle{}, spdlog::level::warn, "asgid", "hello");
  // [YYYY-MM-DD HH:MM:SS.mmm] [pid] [warning] hello
  ASSERT_EQ(line.size(), std::string("[2026-01-02 03:04:05.678] [").size() +
                             std::to_string(getpid()).size() +
                             std::string("] [warning] hello\n").size());
  EXPECT_EQ(line[0], '[');
  EXPECT_EQ(line[11], ' ');
  EXPECT_EQ(line[20], '.');
  EXPECT_NE(line.find("] [" + std::to_string(getpid()) + "] [warning] hello\n"), std::string::npos);
}

TEST(LineFormatterTest, PythonRecordsShowTheirLoggerAndTraceback) {
  std::string line = render(LineStyle{}, spdlog::level::err, "app.db", "failed",
                            "Traceback (most recent call last):\n  boom\nValueError: x\n");
  EXPECT_NE(line.find("[error] [app.db] failed\nTraceback (most recent call last):\n  boom\n"
                      "ValueError: x\n"),
            std::string::npos)
      << line;
}

TEST(LineFormatterTest, JsonIsOneLineWithEveryField) {
  LineStyle style;
  style.json = true;
  setLineWorker(3);
  std::string line =
      render(style, spdlog::level::err, "app", "bad \"thing\"\nsecond", "Traceback:\n  x\n");
  setLineWorker(0);
  EXPECT_EQ(line.find('\n'), line.size() - 1) << line;
  EXPECT_EQ(line.rfind("{\"ts\":\"", 0), 0u) << line;
  EXPECT_NE(line.find("\",\"level\":\"error\",\"pid\":" + std::to_string(getpid()) +
                      ",\"worker\":3,\"logger\":\"app\",\"message\":\"bad \\\"thing\\\"\\nsecond\","
                      "\"exception\":\"Traceback:\\n  x\"}\n"),
            std::string::npos)
      << line;
  // The time is RFC 3339 with milliseconds and an offset.
  EXPECT_EQ(line[17], 'T') << line;
  EXPECT_EQ(line[26], '.') << line;
  EXPECT_TRUE(line[30] == '+' || line[30] == '-') << line;
}

TEST(LineFormatterTest, JsonWithoutExceptionOrWorkerHasNulls) {
  LineStyle style;
  style.json = true;
  std::string line = render(style, spdlog::level::info, "asgid", "x");
  EXPECT_NE(line.find("\"worker\":null,\"logger\":\"asgid\",\"message\":\"x\",\"exception\":null}"),
            std::string::npos)
      << line;
}

TEST(LineFormatterTest, JsonMovesATracebackInAsgidsOwnLinesToException) {
  LineStyle style;
  style.json = true;
  std::string line = render(style, spdlog::level::err, "asgid",
                            "conn 4: Exception in ASGI application\nTraceback (most recent call "
                            "last):\n  File \"x\"\nValueError: v\n");
  EXPECT_NE(line.find("\"message\":\"conn 4: Exception in ASGI application\",\"exception\":"
                      "\"Traceback (most recent call last):\\n  File \\\"x\\\"\\nValueError: v\"}"),
            std::string::npos)
      << line;
}

TEST(LineFormatterTest, JournalPrefixesEveryLineWithThePriority) {
  LineStyle style;
  style.journal = true;
  EXPECT_EQ(render(style, spdlog::level::err, "asgid", "x").rfind("<3>[", 0), 0u);
  EXPECT_EQ(render(style, spdlog::level::warn, "asgid", "x").rfind("<4>[", 0), 0u);
  EXPECT_EQ(render(style, spdlog::level::info, "asgid", "x").rfind("<6>[", 0), 0u);
  EXPECT_EQ(render(style, spdlog::level::debug, "asgid", "x").rfind("<7>[", 0), 0u);
  std::string traceback =
      render(style, spdlog::level::err, "app", "failed\nsecond", "Traceback:\n  x\n");
  EXPECT_NE(traceback.find("failed\n<3>second\n<3>Traceback:\n<3>  x\n"), std::string::npos)
      << traceback;
  style.json = true;
  std::string json = render(style, spdlog::level::warn, "app", "a\nb");
  EXPECT_EQ(json.rfind("<4>{", 0), 0u) << json;
  EXPECT_EQ(json.find('\n'), json.size() - 1) << json;
}

TEST(LineFormatterTest, ColourOnlyWhenAsked) {
  EXPECT_EQ(render(LineStyle{}, spdlog::level::err, "asgid", "x").find('\033'), std::string::npos);
  LineStyle style;
  style.color = true;
  EXPECT_NE(render(style, spdlog::level::err, "asgid", "x").find("[\033[31merror\033[0m]"),
            std::string::npos);
}

TEST(LineFormatterTest, AccessLinesUseTheirOwnStyle) {
  LineStyle access;
  access.raw = true;
  LineFormatter formatter(LineStyle{}, access);
  spdlog::details::log_msg line("", spdlog::level::info, "127.0.0.1 - - \"GET / HTTP/1.1\" 200");
  spdlog::memory_buf_t out;
  formatter.format(line, out);
  EXPECT_EQ(std::string(out.data(), out.size()), "127.0.0.1 - - \"GET / HTTP/1.1\" 200\n");
}

TEST(JournalStreamTest, MatchesDeviceAndInode) {
  EXPECT_TRUE(matchesJournalStream("8:12345", 8, 12345));
  EXPECT_FALSE(matchesJournalStream("8:12345", 8, 12346));
  EXPECT_FALSE(matchesJournalStream("9:12345", 8, 12345));
  EXPECT_FALSE(matchesJournalStream("", 8, 12345));
  EXPECT_FALSE(matchesJournalStream(nullptr, 8, 12345));
  EXPECT_FALSE(matchesJournalStream("8:12345x", 8, 12345));
  EXPECT_FALSE(matchesJournalStream("garbage", 8, 12345));
}

TEST(JournalStreamTest, ComparesWithTheDescriptor) {
  char name[] = "/tmp/asgid-journal-XXXXXX";
  int fd = mkstemp(name);
  ASSERT_GE(fd, 0);
  struct stat info;
  ASSERT_EQ(fstat(fd, &info), 0);
  std::string value = std::to_string(info.st_dev) + ":" + std::to_string(info.st_ino);
  EXPECT_TRUE(isJournalStream(fd, value.c_str()));
  EXPECT_FALSE(isJournalStream(fd, "1:1"));
  EXPECT_FALSE(isJournalStream(fd, nullptr));
  close(fd);
  unlink(name);
}

TEST(LinePidTest, FollowsForks) {
  EXPECT_EQ(linePid(), getpid());
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) _exit(linePid() == getpid() ? 0 : 1);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the child logged its parent's pid";
  EXPECT_EQ(linePid(), getpid());
}

TEST(SyslogPriorityTest, SdDaemonLevels) {
  EXPECT_EQ(syslogPriority(spdlog::level::critical), 2);
  EXPECT_EQ(syslogPriority(spdlog::level::err), 3);
  EXPECT_EQ(syslogPriority(spdlog::level::warn), 4);
  EXPECT_EQ(syslogPriority(spdlog::level::info), 6);
  EXPECT_EQ(syslogPriority(spdlog::level::debug), 7);
  EXPECT_EQ(syslogPriority(spdlog::level::trace), 7);
}

// Python records and asgid's lines in one file, as JSON: never colour in a file, and each
// record one line.
TEST(LogRecordTest, RecordsGoToTheErrorLogAsJsonLines) {
  char pattern[] = "/tmp/asgid-record-test-XXXXXX";
  ASSERT_NE(mkdtemp(pattern), nullptr);
  fs::path dir = pattern;
  fs::path file = dir / "error.log";
  setup(Level::kWarning, true, file.string(), "");
  setFormat(Format{.json = true, .colors = Colors::kAlways});
  record(Level::kInfo, "app", "below --log-level but kept: Python filtered", "");
  record(Level::kError, "app.db", "query failed", "Traceback:\n  x\nValueError\n");
  main().info("dropped by asgid's own level");
  setFormat(Format{});
  setup(Level::kInfo, true);
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  std::string lines = text.str();
  fs::remove_all(dir);
  EXPECT_EQ(lines.find('\033'), std::string::npos);
  EXPECT_NE(lines.find("\"level\":\"info\",\"pid\":" + std::to_string(getpid()) +
                       ",\"worker\":null,\"logger\":\"app\""),
            std::string::npos)
      << lines;
  EXPECT_NE(lines.find("\"logger\":\"app.db\",\"message\":\"query failed\",\"exception\":"
                       "\"Traceback:\\n  x\\nValueError\"}\n"),
            std::string::npos)
      << lines;
  EXPECT_EQ(lines.find("dropped"), std::string::npos);
  int newlines = 0;
  for (char c : lines) newlines += c == '\n';
  EXPECT_EQ(newlines, 2) << lines;
}

}  // namespace
}  // namespace asgid::log
