#include "common/client_log.h"

#include <gtest/gtest.h>

namespace asgid::log {
namespace {

TEST(RateLimit, BurstPassesThenFloodIsCutAndCounted) {
  RateLimit limit(10, 5);
  int passed = 0;
  for (int i = 0; i < 100; ++i) passed += limit.allow(100.0) ? 1 : 0;
  EXPECT_EQ(passed, 5);
  EXPECT_EQ(limit.takeSuppressed(), 95u);
  EXPECT_EQ(limit.takeSuppressed(), 0u);
}

TEST(RateLimit, RefillsWithTimeUpToTheBurst) {
  RateLimit limit(10, 5);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(limit.allow(0.0));
  EXPECT_FALSE(limit.allow(0.0));
  EXPECT_TRUE(limit.allow(0.1));  // one token per 0.1 s
  EXPECT_FALSE(limit.allow(0.1));
  int passed = 0;
  for (int i = 0; i < 20; ++i) passed += limit.allow(1000.0) ? 1 : 0;
  EXPECT_EQ(passed, 5);  // a long silence refills only up to the burst
}

}  // namespace
}  // namespace asgid::log
