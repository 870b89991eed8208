// Acceptor over a loopback listener. Running out of descriptors is produced for real: the
// test lowers its own soft RLIMIT_NOFILE to the lowest free descriptor number (restored by a
// guard), so accept4() fails with EMFILE while connections wait in the kernel's queue.
// ctest runs each test in its own process, so the lowered limit cannot leak into another test.
#include "worker/net/acceptor.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <vector>

#include "common/log.h"

namespace asgid::net {
namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Lowers the soft descriptor limit for its lifetime.
class NofileLimit {
 public:
  explicit NofileLimit(rlim_t soft) {
    getrlimit(RLIMIT_NOFILE, &saved_);
    struct rlimit lowered = saved_;
    lowered.rlim_cur = soft;
    ok_ = setrlimit(RLIMIT_NOFILE, &lowered) == 0;
  }
  ~NofileLimit() { restore(); }
  void restore() {
    if (ok_) setrlimit(RLIMIT_NOFILE, &saved_);
    ok_ = false;
  }
  bool ok() const { return ok_; }

 private:
  struct rlimit saved_ {};
  bool ok_ = false;
};

// The number the next new descriptor gets.
int lowestFreeFd() {
  int fd = fcntl(0, F_DUPFD, 0);
  if (fd >= 0) close(fd);
  return fd;
}

class AcceptorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Logs a line while descriptors are plentiful. Under UBSan the first check of a dynamic
    // type (spdlog's shared_ptr control blocks) probes memory through a pipe(); out of
    // descriptors that probe fails and UBSan reports a false "invalid vptr" from the pause's
    // log line. Checked types are cached, so one line with the same argument types now keeps
    // the later checks off that path.
    log::main().info("acceptor test: {} {} {} {}", "logging", size_t{1}, 2LL, 0.5);
    loop_ = ev_loop_new(EVFLAG_AUTO);
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    ASSERT_EQ(listen(listen_fd_, 64), 0);
    socklen_t length = sizeof address;
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    acceptor_ = std::make_unique<Acceptor>(
        loop_,
        [this](int fd, Endpoint peer, const ListenerInfo& listener) {
          accepted_.push_back(fd);
          peers_.push_back(peer);
          EXPECT_EQ(listener.fd, listen_fd_);
        },
        [this] { return accepted_.size(); });
    acceptor_->add(ListenerInfo{listen_fd_, false, "127.0.0.1", port_});
    // A heartbeat bounds every blocking loop turn, so the turns can be counted over a time.
    ev_timer_init(
        &heartbeat_, [](struct ev_loop*, ev_timer*, int) {}, 0.05, 0.05);
    ev_timer_start(loop_, &heartbeat_);
  }
  void TearDown() override {
    acceptor_.reset();
    ev_timer_stop(loop_, &heartbeat_);
    for (int fd : accepted_) close(fd);
    for (int fd : clients_) close(fd);
    close(listen_fd_);
    ev_loop_destroy(loop_);
  }

  int connectClient() {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port_));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    clients_.push_back(fd);
    return fd;
  }

  // Blocking loop turns (each at most a heartbeat long) until `done()` or `seconds` pass.
  // `on_turn` runs after each.
  bool runUntil(const std::function<bool()>& done, double seconds,
                const std::function<void()>& on_turn = nullptr) {
    auto start = Clock::now();
    while (!done() && secondsSince(start) < seconds) {
      ev_run(loop_, EVRUN_ONCE);
      if (on_turn) on_turn();
    }
    return done();
  }

  struct ev_loop* loop_ = nullptr;
  int listen_fd_ = -1;
  int port_ = 0;
  ev_timer heartbeat_;
  std::unique_ptr<Acceptor> acceptor_;
  std::vector<int> accepted_;
  std::vector<Endpoint> peers_;
  std::vector<int> clients_;
};

TEST_F(AcceptorTest, AcceptsAndReportsThePeer) {
  acceptor_->start();
  int client = connectClient();
  ASSERT_TRUE(runUntil([&] { return accepted_.size() == 1; }, 3));
  sockaddr_in local{};
  socklen_t length = sizeof local;
  getsockname(client, reinterpret_cast<sockaddr*>(&local), &length);
  EXPECT_EQ(peers_[0].host, "127.0.0.1");
  EXPECT_EQ(peers_[0].port, ntohs(local.sin_port));
  int flags = fcntl(accepted_[0], F_GETFL);
  EXPECT_TRUE(flags & O_NONBLOCK) << "accepted socket is blocking";
  EXPECT_TRUE(fcntl(accepted_[0], F_GETFD) & FD_CLOEXEC);
  EXPECT_FALSE(acceptor_->paused());
}

TEST_F(AcceptorTest, AcceptsNothingBeforeStartAndAfterStop) {
  connectClient();
  runUntil([] { return false; }, 0.2);
  EXPECT_TRUE(accepted_.empty());
  acceptor_->start();
  ASSERT_TRUE(runUntil([&] { return accepted_.size() == 1; }, 3));
  acceptor_->stop();
  connectClient();
  runUntil([] { return false; }, 0.2);
  EXPECT_EQ(accepted_.size(), 1u);
}

TEST_F(AcceptorTest, OutOfDescriptorsPausesInsteadOfSpinning) {
  acceptor_->start();
  constexpr int kClients = 3;
  for (int i = 0; i < kClients; ++i) connectClient();
  // Descriptors to give back later, so that accepting can succeed without raising the limit
  // (one more than the clients need: a process with no descriptor left gets EMFILE from
  // accept4 even when no connection waits, and would rightly pause again).
  std::vector<int> spare;
  for (int i = 0; i <= kClients; ++i) spare.push_back(fcntl(0, F_DUPFD_CLOEXEC, 0));
  NofileLimit limit(static_cast<rlim_t>(lowestFreeFd()));
  ASSERT_TRUE(limit.ok());
  ASSERT_LT(fcntl(0, F_DUPFD, 0), 0) << "the lowered limit still lets a descriptor open";

  // While out of descriptors the listener must not stay armed: a spinning worker would turn
  // its loop (and fail accept4) tens of thousands of times a second. Paused, the loop wakes
  // for the heartbeat (20/s) and the resume timer (2/s), each resume retrying once.
  unsigned turns_before = ev_iteration(loop_);
  int pauses = 0;
  bool was_paused = false;
  auto start = Clock::now();
  runUntil([] { return false; }, 1.5,
           [&] {
             if (acceptor_->paused() && !was_paused) ++pauses;
             was_paused = acceptor_->paused();
           });
  unsigned turns = ev_iteration(loop_) - turns_before;
  double elapsed = secondsSince(start);
  EXPECT_TRUE(accepted_.empty());
  EXPECT_GE(pauses, 1) << "never paused";
  // 1.5 s / 0.5 s pause: about 3 pauses; allow for a slow machine, but not one per turn.
  EXPECT_LE(pauses, 6);
  EXPECT_LT(turns, 40 * elapsed + 20) << turns << " loop turns in " << elapsed << " s";
  EXPECT_TRUE(acceptor_->paused() || pauses >= 2);

  // Descriptors come back (connections finished): the next resume accepts every waiting one.
  for (int fd : spare) close(fd);
  ASSERT_TRUE(runUntil([&] { return accepted_.size() == kClients; }, 3))
      << "accepted " << accepted_.size() << " of " << kClients << " after fds were freed";
  EXPECT_FALSE(acceptor_->paused());
  limit.restore();
  connectClient();
  ASSERT_TRUE(runUntil([&] { return accepted_.size() == kClients + 1; }, 3));
}

TEST_F(AcceptorTest, StopWhilePausedStaysStopped) {
  acceptor_->start();
  connectClient();
  {
    NofileLimit limit(static_cast<rlim_t>(lowestFreeFd()));
    ASSERT_TRUE(limit.ok());
    ASSERT_TRUE(runUntil([&] { return acceptor_->paused(); }, 3));
    acceptor_->stop();
  }
  runUntil([] { return false; }, 1.0);  // past the pause: the resume timer must not re-arm
  EXPECT_TRUE(accepted_.empty());
}

}  // namespace
}  // namespace asgid::net
