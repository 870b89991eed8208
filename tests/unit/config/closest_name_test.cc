#include "config/closest_name.h"

#include <gtest/gtest.h>

namespace asgid::config {
namespace {

TEST(ClosestNameTest, EditDistance) {
  EXPECT_EQ(editDistance("port", "port"), 0u);
  EXPECT_EQ(editDistance("prot", "port"), 1u);  // a swap is one edit
  EXPECT_EQ(editDistance("host", "port"), 2u);
  EXPECT_EQ(editDistance("", "abc"), 3u);
  EXPECT_EQ(editDistance("access-log", "access_log"), 1u);
}

TEST(ClosestNameTest, SuggestsTheNearest) {
  std::vector<std::string> names = {"host", "port", "backlog", "access_log"};
  EXPECT_EQ(closestName("prot", names), "port");
  EXPECT_EQ(closestName("hots", names), "host");
  EXPECT_EQ(closestName("access-log", names), "access_log");
  EXPECT_EQ(closestName("backlgo", names), "backlog");
}

TEST(ClosestNameTest, SuggestsNothingWhenNothingIsClose) {
  std::vector<std::string> names = {"host", "port", "backlog"};
  EXPECT_EQ(closestName("workers", names), "");
  EXPECT_EQ(closestName("x", names), "");
  EXPECT_EQ(closestName("", names), "");
}

}  // namespace
}  // namespace asgid::config
