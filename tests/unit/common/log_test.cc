#include "common/log.h"

#include <gtest/gtest.h>
#include <pwd.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace asgid::log {
namespace {

namespace fs = std::filesystem;

int count(const std::string& text, const std::string& needle) {
  int found = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++found;
  }
  return found;
}

class LogReopenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/asgid-log-test-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    fs::create_directory(dir_ / "logs");
    error_ = dir_ / "logs" / "error.log";
    access_ = dir_ / "logs" / "access.log";
  }
  void TearDown() override {
    setup(Level::kInfo, true);  // back to the standard streams: the files are removed
    std::error_code ignored;
    fs::current_path(saved_cwd_, ignored);
    fs::remove_all(dir_);
  }

  static std::string read(const fs::path& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
  // What logrotate does without `create`: move, signal.
  void rotate(const fs::path& path) { fs::rename(path, path.string() + ".1"); }
  static std::string rotated(const fs::path& path) { return read(path.string() + ".1"); }

  fs::path saved_cwd_ = fs::current_path();
  fs::path dir_;
  fs::path error_;
  fs::path access_;
};

TEST_F(LogReopenTest, MovedFilesAreRecreatedAndWrittenTo) {
  setup(Level::kInfo, true, error_, access_);
  main().info("before");
  access().info("GET before");
  rotate(error_);
  rotate(access_);
  EXPECT_EQ(reopen(), 0);
  main().info("after");
  access().info("GET after");
  EXPECT_EQ(count(rotated(error_), "before"), 1);
  EXPECT_EQ(count(rotated(error_), "after"), 0);
  EXPECT_EQ(count(read(error_), "after"), 1);
  EXPECT_EQ(count(rotated(access_), "GET after"), 0);
  EXPECT_EQ(count(read(access_), "GET after"), 1);
}

TEST_F(LogReopenTest, FailedReopenKeepsTheOldFileAndSaysOnce) {
  setup(Level::kInfo, true, error_, access_);
  // The directory is moved away and a file stands in its way: nobody can create the logs.
  fs::rename(dir_ / "logs", dir_ / "logs.old");
  std::ofstream(dir_ / "logs") << "not a directory";
  EXPECT_EQ(reopen(), 2);
  main().info("still logged");
  access().info("GET still logged");
  const std::string old_error = read(dir_ / "logs.old" / "error.log");
  EXPECT_EQ(count(old_error, "Cannot reopen"), 2) << old_error;
  EXPECT_EQ(count(old_error, "Cannot reopen the error log file " + error_.string() + " as user "),
            1)
      << old_error;
  EXPECT_EQ(count(old_error, "Cannot reopen the access log file " + access_.string()), 1);
  const passwd* me = getpwuid(geteuid());
  ASSERT_NE(me, nullptr);
  EXPECT_EQ(count(old_error, std::string("as user ") + me->pw_name + " (uid "), 2) << old_error;
  EXPECT_EQ(count(old_error, "Not a directory (errno 20 ENOTDIR)"), 2) << old_error;
  EXPECT_EQ(count(old_error, "still logged"), 1) << "no line is lost";
  EXPECT_EQ(count(read(dir_ / "logs.old" / "access.log"), "GET still logged"), 1);
  // A later reopen that works again picks the files up.
  fs::remove(dir_ / "logs");
  fs::create_directory(dir_ / "logs");
  EXPECT_EQ(reopen(), 0);
  main().info("back");
  EXPECT_EQ(count(read(error_), "back"), 1);
}

TEST_F(LogReopenTest, OneFileFailingDoesNotHoldTheOtherBack) {
  fs::create_directory(dir_ / "access");
  const fs::path access_file = dir_ / "access" / "access.log";
  setup(Level::kInfo, true, error_, access_file);
  rotate(error_);
  fs::rename(dir_ / "access", dir_ / "access.old");
  std::ofstream(dir_ / "access") << "in the way";
  EXPECT_EQ(reopen(), 1);
  access().info("GET kept");
  // The error log was reopened: the access log's failure is reported in the new one.
  EXPECT_EQ(count(read(error_), "Cannot reopen the access log file " + access_file.string()), 1);
  EXPECT_EQ(count(rotated(error_), "Cannot reopen"), 0);
  EXPECT_EQ(count(read(dir_ / "access.old" / "access.log"), "GET kept"), 1);
}

TEST_F(LogReopenTest, RelativeNamesSurviveAChdir) {
  fs::current_path(dir_);
  setup(Level::kInfo, true, "logs/error.log", "-");
  fs::create_directory(dir_ / "elsewhere");
  fs::current_path(dir_ / "elsewhere");  // --chdir happens after the log files are opened
  rotate(error_);
  EXPECT_EQ(reopen(), 0);
  main().info("after chdir");
  EXPECT_EQ(count(read(error_), "after chdir"), 1);
  EXPECT_FALSE(fs::exists(dir_ / "elsewhere" / "logs"));
}

TEST_F(LogReopenTest, StandardStreamsHaveNothingToReopen) {
  setup(Level::kInfo, true, "-", "");
  EXPECT_EQ(reopen(), 0);
}

TEST_F(LogReopenTest, SetupNamesTheFileItCannotOpen) {
  std::ofstream(dir_ / "blocker") << "x";
  try {
    setup(Level::kInfo, true, (dir_ / "blocker" / "error.log").string());
    FAIL() << "no exception";
  } catch (const std::runtime_error& error) {
    EXPECT_NE(std::string(error.what()).find((dir_ / "blocker" / "error.log").string()),
              std::string::npos)
        << error.what();
    EXPECT_NE(std::string(error.what()).find("Not a directory"), std::string::npos);
  }
}

}  // namespace
}  // namespace asgid::log
