#include "master/file_limit.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

namespace asgid::master {
namespace {

TEST(FileLimit, SoftLimitIsRaisedToTheHardLimit) {
  struct rlimit saved {};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &saved), 0);
  if (saved.rlim_max < 200) GTEST_SKIP() << "hard limit too low to lower the soft one";
  struct rlimit lowered = saved;
  lowered.rlim_cur = 128;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &lowered), 0);

  FileLimit limit = raiseFileLimit();
  EXPECT_EQ(limit.before, 128u);
  EXPECT_EQ(limit.now, saved.rlim_max);
  EXPECT_EQ(limit.hard, saved.rlim_max);
  struct rlimit after {};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &after), 0);
  EXPECT_EQ(after.rlim_cur, saved.rlim_max);

  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &saved), 0);
}

}  // namespace
}  // namespace asgid::master
