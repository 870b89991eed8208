#include "master/listener.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "master/pid_file.h"

namespace asgid::master {
namespace {

TEST(Listeners, BindsHostAndPortZero) {
  config::Settings settings;
  settings.port = 0;
  auto listeners = bindListeners(settings);
  ASSERT_EQ(listeners.size(), 1u);
  EXPECT_GT(listeners[0].info.port, 0);
  EXPECT_EQ(listeners[0].url, "http://127.0.0.1:" + std::to_string(listeners[0].info.port));
}

TEST(Listeners, BindListAndUnixPermissions) {
  config::Settings settings;
  std::string path = "/tmp/asgid-listener-test-" + std::to_string(getpid()) + ".sock";
  settings.bind = {"127.0.0.1:0", "[::1]:0", "unix:" + path};
  settings.uds_perms = 0600;
  auto listeners = bindListeners(settings);
  ASSERT_EQ(listeners.size(), 3u);
  EXPECT_EQ(listeners[1].url.rfind("http://[::1]:", 0), 0u);
  EXPECT_TRUE(listeners[2].info.unix_socket);
  EXPECT_EQ(listeners[2].url, "unix:" + path);
  struct stat info;
  ASSERT_EQ(stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  unlink(path.c_str());
}

TEST(Listeners, AdoptsAnInheritedSocketAndRejectsOthers) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(listen(fd, 4), 0);
  config::Settings settings;
  settings.fds = {fd};
  auto listeners = bindListeners(settings);
  ASSERT_EQ(listeners.size(), 1u);
  EXPECT_EQ(listeners[0].info.fd, fd);
  EXPECT_EQ(listeners[0].info.host, "127.0.0.1");
  listeners[0].fd.release();
  close(fd);

  int not_listening = socket(AF_INET, SOCK_STREAM, 0);
  settings.fds = {not_listening};
  EXPECT_THROW(bindListeners(settings), std::runtime_error);
  close(not_listening);
}

TEST(Listeners, BindErrorNamesTheAddress) {
  config::Settings settings;
  settings.bind = {"127.0.0.1:0"};
  auto first = bindListeners(settings);
  settings.bind = {"127.0.0.1:" + std::to_string(first[0].info.port)};
  try {
    bindListeners(settings);
    FAIL() << "bound a port in use";
  } catch (const std::runtime_error& error) {
    EXPECT_NE(std::string(error.what()).find("127.0.0.1:" + std::to_string(first[0].info.port)),
              std::string::npos);
  }
}

TEST(PidFile, WrittenThenRemovedOnlyIfOurs) {
  std::string path = "/tmp/asgid-pid-test-" + std::to_string(getpid());
  {
    PidFile file;
    file.write(path);
    std::ifstream in(path);
    long pid = 0;
    in >> pid;
    EXPECT_EQ(pid, static_cast<long>(getpid()));
  }
  EXPECT_NE(access(path.c_str(), F_OK), 0);  // removed
  {
    PidFile file;
    file.write(path);
    std::ofstream(path) << "1\n";  // a newer master took over
  }
  EXPECT_EQ(access(path.c_str(), F_OK), 0);  // not ours any more: left alone
  unlink(path.c_str());
}

}  // namespace
}  // namespace asgid::master
