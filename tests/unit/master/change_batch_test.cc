// Debouncing (quiet time, capped) and the reload log line's description of a batch.
#include "master/change_batch.h"

#include <gtest/gtest.h>

namespace asgid::master {
namespace {

TEST(ChangeBatchTest, DueAQuietTimeAfterTheLastChange) {
  ChangeBatch batch(0.25, 5.0);
  EXPECT_TRUE(batch.empty());
  batch.add("a.py", 10.0);
  EXPECT_DOUBLE_EQ(batch.dueAt(), 10.25);
  batch.add("b.py", 10.2);
  EXPECT_DOUBLE_EQ(batch.dueAt(), 10.45);
}

TEST(ChangeBatchTest, NeverLaterThanTheMaximumWaitAfterTheFirstChange) {
  ChangeBatch batch(0.25, 5.0);
  for (double t = 0; t < 20; t += 0.1) batch.add("busy.py", t);
  EXPECT_DOUBLE_EQ(batch.dueAt(), 5.0);
}

TEST(ChangeBatchTest, CoalescesRepeatsAndKeepsFirstChangeOrder) {
  ChangeBatch batch(0.25, 5.0);
  for (int i = 0; i < 200; ++i) batch.add(i % 2 ? "b.py" : "a.py", i * 0.001);
  batch.add("c.py", 0.3);
  EXPECT_EQ(batch.take(), (std::vector<std::string>{"a.py", "b.py", "c.py"}));
  EXPECT_TRUE(batch.empty());
  // A new batch starts its own clock.
  batch.add("a.py", 100.0);
  EXPECT_DOUBLE_EQ(batch.dueAt(), 100.25);
  EXPECT_EQ(batch.take(), (std::vector<std::string>{"a.py"}));
}

TEST(ChangeBatchTest, DescribesTheFirstChangeAndTheCount) {
  EXPECT_EQ(describeChanges({"app/main.py"}), "app/main.py");
  EXPECT_EQ(describeChanges({"app/main.py", "a.py", "b.py", "c.py"}), "app/main.py and 3 more");
  EXPECT_EQ(describeChanges({}), "nothing");
}

}  // namespace
}  // namespace asgid::master
