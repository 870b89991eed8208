#include "worker/net/output_queue.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

namespace asgid::net {
namespace {

class OutputQueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds_), 0);
    fcntl(fds_[0], F_SETFL, O_NONBLOCK);
  }
  void TearDown() override {
    close(fds_[0]);
    close(fds_[1]);
  }
  std::string readAll() {
    std::string out;
    char buffer[65536];
    fcntl(fds_[1], F_SETFL, O_NONBLOCK);
    for (;;) {
      ssize_t got = read(fds_[1], buffer, sizeof buffer);
      if (got <= 0) break;
      out.append(buffer, static_cast<size_t>(got));
    }
    return out;
  }
  int fds_[2];
};

void countRelease(void* owner) {
  ++*static_cast<int*>(owner);
}

TEST_F(OutputQueueTest, KeepsOrderAcrossOwnedAndExternal) {
  OutputQueue queue;
  int released = 0;
  static const char kExternal[] = "EXTERNAL";
  queue.append("head ");
  queue.build([](std::string& out) { out += "built "; });
  queue.appendExternal(kExternal, 8, countRelease, &released);
  queue.append(" tail");
  EXPECT_EQ(queue.bytes(), 5u + 6u + 8u + 5u);
  EXPECT_EQ(queue.writeTo(fds_[0]), OutputQueue::WriteStatus::kAll);
  EXPECT_TRUE(queue.empty());
  EXPECT_EQ(released, 1);
  EXPECT_EQ(readAll(), "head built EXTERNAL tail");
}

TEST_F(OutputQueueTest, PartialWritesResumeWhereTheyStopped) {
  OutputQueue queue;
  std::string big(4 * 1024 * 1024, 'x');
  for (size_t i = 0; i < big.size(); i += 997) big[i] = static_cast<char>('a' + i % 26);
  int released = 0;
  queue.appendExternal(big.data(), big.size(), countRelease, &released);
  std::string received;
  for (int round = 0; round < 10000 && !queue.empty(); ++round) {
    auto status = queue.writeTo(fds_[0]);
    ASSERT_NE(status, OutputQueue::WriteStatus::kError);
    received += readAll();
  }
  received += readAll();
  EXPECT_TRUE(queue.empty());
  EXPECT_EQ(released, 1);
  EXPECT_EQ(received, big);
}

TEST_F(OutputQueueTest, ClearReleasesExternalBuffers) {
  int released = 0;
  {
    OutputQueue queue;
    queue.appendExternal("abc", 3, countRelease, &released);
    queue.appendExternal("def", 3, countRelease, &released);
  }
  EXPECT_EQ(released, 2);
}

TEST_F(OutputQueueTest, ErrorWhenPeerIsGone) {
  OutputQueue queue;
  queue.append("data");
  close(fds_[1]);
  fds_[1] = open("/dev/null", O_RDONLY);
  signal(SIGPIPE, SIG_IGN);
  EXPECT_EQ(queue.writeTo(fds_[0]), OutputQueue::WriteStatus::kError);
}

}  // namespace
}  // namespace asgid::net
