#include "common/systemd_notify.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

namespace asgid::systemd {
namespace {

TEST(SystemdNotify, NoSocketMeansNoOp) {
  unsetenv("NOTIFY_SOCKET");
  EXPECT_FALSE(enabled());
  EXPECT_FALSE(notify("READY=1"));
}

TEST(SystemdNotify, SendsOneDatagram) {
  std::string path = "/tmp/asgid-notify-test-" + std::to_string(getpid());
  unlink(path.c_str());
  int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  snprintf(address.sun_path, sizeof address.sun_path, "%s", path.c_str());
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  setenv("NOTIFY_SOCKET", path.c_str(), 1);
  EXPECT_TRUE(enabled());
  EXPECT_TRUE(notify("READY=1\nSTATUS=serving"));
  char buffer[256];
  ssize_t got = recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
  ASSERT_GT(got, 0);
  EXPECT_EQ(std::string(buffer, static_cast<size_t>(got)), "READY=1\nSTATUS=serving");
  unsetenv("NOTIFY_SOCKET");
  close(fd);
  unlink(path.c_str());
}

TEST(SystemdNotify, WatchdogInterval) {
  unsetenv("WATCHDOG_PID");
  setenv("WATCHDOG_USEC", "2000000", 1);
  EXPECT_DOUBLE_EQ(watchdogInterval(), 2.0);
  setenv("WATCHDOG_PID", "1", 1);  // another process's watchdog
  EXPECT_DOUBLE_EQ(watchdogInterval(), 0.0);
  setenv("WATCHDOG_PID", std::to_string(getpid()).c_str(), 1);
  EXPECT_DOUBLE_EQ(watchdogInterval(), 2.0);
  unsetenv("WATCHDOG_USEC");
  unsetenv("WATCHDOG_PID");
  EXPECT_DOUBLE_EQ(watchdogInterval(), 0.0);
}

}  // namespace
}  // namespace asgid::systemd
