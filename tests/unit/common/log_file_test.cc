#include "common/log_file.h"

#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace asgid::log {
namespace {

namespace fs = std::filesystem;

class LogFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/asgid-log-file-test-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  static std::string read(const fs::path& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
  static void append(const OpenedFile& file, const std::string& text) {
    ASSERT_EQ(write(file.fd.get(), text.data(), text.size()), static_cast<ssize_t>(text.size()));
  }
  static struct stat info(const fs::path& path) {
    struct stat result {};
    EXPECT_EQ(lstat(path.c_str(), &result), 0) << path;
    return result;
  }

  fs::path dir_;
};

TEST_F(LogFileTest, CreatesMissingDirectoriesAndAppends) {
  const fs::path path = dir_ / "a" / "b" / "error.log";
  OpenedFile first = openLogFile(path);
  ASSERT_TRUE(first.fd) << first.what << ": " << strerror(first.error);
  EXPECT_EQ(first.error, 0);
  append(first, "one\n");
  OpenedFile second = openLogFile(path);  // an existing file is appended to, never truncated
  ASSERT_TRUE(second.fd);
  append(second, "two\n");
  append(first, "three\n");
  EXPECT_EQ(read(path), "one\ntwo\nthree\n");
  EXPECT_TRUE(fs::is_directory(dir_ / "a" / "b"));
  EXPECT_TRUE(fcntl(first.fd.get(), F_GETFD) & FD_CLOEXEC) << "a worker's exec must not leak it";
}

TEST_F(LogFileTest, FailureNamesTheStepAndKeepsTheErrno) {
  std::ofstream(dir_ / "blocker") << "a file where a directory should be";
  OpenedFile opened = openLogFile(dir_ / "blocker" / "error.log");
  EXPECT_FALSE(opened.fd);
  EXPECT_EQ(opened.error, ENOTDIR);
  EXPECT_EQ(opened.what, "open");
}

TEST_F(LogFileTest, MissingDirectoryThatCannotBeCreatedIsNamed) {
  std::ofstream(dir_ / "blocker") << "x";
  OpenedFile opened = openLogFile(dir_ / "blocker" / "sub" / "error.log");
  EXPECT_FALSE(opened.fd);
  EXPECT_EQ(opened.error, ENOTDIR);
  EXPECT_EQ(opened.what, "create directory " + (dir_ / "blocker" / "sub").string());
}

TEST_F(LogFileTest, OwnerThatIsAlreadyTheFilesOwnerNeedsNoPrivilege) {
  OpenedFile opened = openLogFile(dir_ / "new" / "access.log", {getuid(), getgid()});
  ASSERT_TRUE(opened.fd) << opened.what << ": " << strerror(opened.error);
  EXPECT_EQ(info(dir_ / "new" / "access.log").st_uid, getuid());
}

// ---- Root only: giving what root creates to another user ------------------------------------

class LogFileAsRootTest : public LogFileTest {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "chowning to another user needs root";
    const passwd* user = getpwnam("nobody");
    if (user == nullptr) GTEST_SKIP() << "no user 'nobody'";
    nobody_ = {user->pw_uid, user->pw_gid};
    LogFileTest::SetUp();
  }
  FileOwner nobody_;
};

TEST_F(LogFileAsRootTest, CreatedFileAndDirectoriesBelongToTheOwner) {
  fs::create_directory(dir_ / "existing");
  const fs::path path = dir_ / "existing" / "new" / "deeper" / "error.log";
  OpenedFile opened = openLogFile(path, nobody_);
  ASSERT_TRUE(opened.fd) << opened.what << ": " << strerror(opened.error);
  for (const fs::path& created : {path, dir_ / "existing/new/deeper", dir_ / "existing/new"}) {
    EXPECT_EQ(info(created).st_uid, nobody_.uid) << created;
    EXPECT_EQ(info(created).st_gid, nobody_.gid) << created;
  }
  EXPECT_EQ(info(dir_ / "existing").st_uid, 0u) << "a directory that existed is left alone";
}

TEST_F(LogFileAsRootTest, ExistingPlainFileIsGivenToTheOwner) {
  std::ofstream(dir_ / "error.log") << "from an older run as root\n";
  OpenedFile opened = openLogFile(dir_ / "error.log", nobody_);
  ASSERT_TRUE(opened.fd);
  EXPECT_EQ(info(dir_ / "error.log").st_uid, nobody_.uid);
  EXPECT_EQ(read(dir_ / "error.log"), "from an older run as root\n");
}

TEST_F(LogFileAsRootTest, SymlinkTargetIsNeverChowned) {
  // A user who can write to the log directory must not get root to chown another file.
  std::ofstream(dir_ / "precious") << "root's\n";
  fs::create_symlink(dir_ / "precious", dir_ / "error.log");
  OpenedFile opened = openLogFile(dir_ / "error.log", nobody_);
  ASSERT_TRUE(opened.fd);  // still written to, as before
  EXPECT_EQ(info(dir_ / "precious").st_uid, 0u);
}

TEST_F(LogFileAsRootTest, HardLinkedFileIsNeverChowned) {
  std::ofstream(dir_ / "precious") << "root's\n";
  fs::create_hard_link(dir_ / "precious", dir_ / "error.log");
  OpenedFile opened = openLogFile(dir_ / "error.log", nobody_);
  ASSERT_TRUE(opened.fd);
  EXPECT_EQ(info(dir_ / "precious").st_uid, 0u);
}

}  // namespace
}  // namespace asgid::log
