// Transport and TransportSet over a socketpair, driven by a real ev loop and a tiny Protocol
// that records what it hears. The loop runs in the test's own thread (EVRUN_NOWAIT turns with a
// short sleep), so the peer end can be read and written between turns. Time bounds are
// generous upper limits on "it happened", not timing goals.
#include "worker/net/transport.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "worker/net/transport_set.h"

namespace asgid::net {
namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// What a TestProtocol heard; outlives the protocol, which the transport deletes.
struct Record {
  std::string data;
  int data_calls = 0;
  int peer_closed = 0;
  int flushed = 0;
  int timeouts = 0;
  int shutdowns = 0;
  int closed = 0;
  CloseReason reason = CloseReason::kLocal;
  bool destroyed = false;
};

class TestProtocol : public Protocol {
 public:
  explicit TestProtocol(Record& record) : record_(record) {}
  ~TestProtocol() override { record_.destroyed = true; }

  // Runs inside onData after the bytes are recorded (to act from a protocol callback).
  std::function<void(const char* data, size_t size)> on_data;

  void onData(const char* data, size_t size) override {
    record_.data.append(data, size);
    ++record_.data_calls;
    if (on_data) on_data(data, size);
  }
  void onPeerClosed() override { ++record_.peer_closed; }
  void onFlushed() override { ++record_.flushed; }
  void onTimeout() override { ++record_.timeouts; }
  void onShutdown() override { ++record_.shutdowns; }
  void onClosed(CloseReason reason) override {
    ++record_.closed;
    record_.reason = reason;
  }

 private:
  Record& record_;
};

class TransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    signal(SIGPIPE, SIG_IGN);
    loop_ = ev_loop_new(EVFLAG_AUTO);
  }
  void TearDown() override {
    set_.reset();
    for (int fd : peers_) ::close(fd);
    ev_loop_destroy(loop_);
  }

  void makeSet(TransportOptions options = {}) {
    set_ = std::make_unique<TransportSet>(loop_, options);
  }

  // A transport over one end of a new socketpair, speaking a TestProtocol that records into
  // `record`; returns the transport, the peer's end in `*peer`.
  Transport& connect(Record& record, int* peer, TestProtocol** protocol = nullptr) {
    if (!set_) makeSet();
    int fds[2];
    EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
    *peer = fds[1];
    peers_.push_back(fds[1]);
    Transport& transport = set_->add(fds[0], Endpoint{"peer", 1}, ListenerInfo{});
    auto made = std::make_unique<TestProtocol>(record);
    if (protocol != nullptr) *protocol = made.get();
    transport.start(std::move(made));
    // Deadlines count from the loop's cached time (ev_now), which only moves when the loop
    // runs: bring it to the present so that elapsed wall time is comparable.
    ev_now_update(loop_);
    return transport;
  }

  // One loop turn (the prepare pass flushes and reaps), then a short nap.
  void turn() {
    ev_run(loop_, EVRUN_NOWAIT);
    poll(nullptr, 0, 1);
  }
  // Turns the loop until `done()` or `seconds` pass; returns done().
  bool runUntil(const std::function<bool()>& done, double seconds) {
    auto start = Clock::now();
    while (!done() && secondsSince(start) < seconds) turn();
    return done();
  }
  void runFor(double seconds) {
    runUntil([] { return false; }, seconds);
  }

  static void write(int fd, const std::string& text) {
    ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  }
  // What the peer can read now; `*eof` tells whether it read the end of the stream.
  static std::string drain(int fd, bool* eof = nullptr, size_t max = SIZE_MAX) {
    std::string out;
    char buffer[65536];
    while (out.size() < max) {
      ssize_t got = ::read(fd, buffer, std::min(sizeof buffer, max - out.size()));
      if (got == 0 && eof != nullptr) *eof = true;
      if (got <= 0) break;
      out.append(buffer, static_cast<size_t>(got));
    }
    return out;
  }

  // Records live in the fixture: a transport still open at the end of a test is closed (and
  // its protocol told) when the set goes in TearDown.
  Record& newRecord() { return records_.emplace_back(); }

  struct ev_loop* loop_ = nullptr;
  std::deque<Record> records_;
  std::unique_ptr<TransportSet> set_;
  std::vector<int> peers_;
};

TEST_F(TransportTest, BytesReachOnData) {
  Record& record = newRecord();
  int peer;
  connect(record, &peer);
  write(peer, "hello");
  ASSERT_TRUE(runUntil([&] { return record.data == "hello"; }, 3)) << record.data;
  write(peer, " world");
  ASSERT_TRUE(runUntil([&] { return record.data == "hello world"; }, 3)) << record.data;
  EXPECT_EQ(record.closed, 0);
}

TEST_F(TransportTest, SetReadingFalseStopsReadsUntilResumed) {
  Record& record = newRecord();
  int peer;
  Transport& transport = connect(record, &peer);
  EXPECT_TRUE(transport.reading());
  transport.setReading(false);
  EXPECT_FALSE(transport.reading());
  write(peer, "abc");
  runFor(0.2);
  EXPECT_EQ(record.data_calls, 0) << "read while the protocol asked for no bytes";
  transport.setReading(true);
  ASSERT_TRUE(runUntil([&] { return record.data == "abc"; }, 3)) << record.data;
}

TEST_F(TransportTest, BackpressureFromInsideOnData) {
  // The usual shape: the protocol's buffer is full after one read, it stops reading from its
  // own callback, and nothing more arrives until it resumes.
  Record& record = newRecord();
  int peer;
  TestProtocol* protocol;
  Transport& transport = connect(record, &peer, &protocol);
  protocol->on_data = [&](const char*, size_t) { transport.setReading(false); };
  write(peer, "first");
  ASSERT_TRUE(runUntil([&] { return record.data_calls == 1; }, 3));
  write(peer, "second");
  runFor(0.2);
  EXPECT_EQ(record.data_calls, 1);
  EXPECT_EQ(record.data, "first");
  protocol->on_data = nullptr;
  transport.setReading(true);
  ASSERT_TRUE(runUntil([&] { return record.data == "firstsecond"; }, 3)) << record.data;
}

TEST_F(TransportTest, DeadlineFiresOnce) {
  Record& record = newRecord();
  int peer;
  Transport& transport = connect(record, &peer);
  auto start = Clock::now();
  transport.setDeadline(0.1);
  ASSERT_TRUE(runUntil([&] { return record.timeouts > 0; }, 3));
  EXPECT_GE(secondsSince(start), 0.09);
  runFor(0.4);
  EXPECT_EQ(record.timeouts, 1);
  EXPECT_EQ(record.closed, 0) << "a protocol timeout is the protocol's to act on";
}

TEST_F(TransportTest, SetDeadlineReplacesTheEarlierOne) {
  Record& record = newRecord();
  int peer;
  Transport& transport = connect(record, &peer);
  // Pushed back: the first deadline does not fire.
  auto start = Clock::now();
  transport.setDeadline(0.1);
  transport.setDeadline(0.6);
  runFor(0.3);
  EXPECT_EQ(record.timeouts, 0) << "the replaced deadline fired";
  ASSERT_TRUE(runUntil([&] { return record.timeouts > 0; }, 5));
  EXPECT_GE(secondsSince(start), 0.55);
  runFor(0.3);
  EXPECT_EQ(record.timeouts, 1);

  // Brought forward: the later one is forgotten, the earlier one fires.
  start = Clock::now();
  transport.setDeadline(30);
  transport.setDeadline(0.1);
  ASSERT_TRUE(runUntil([&] { return record.timeouts == 2; }, 5));
  EXPECT_LT(secondsSince(start), 5);
}

TEST_F(TransportTest, ClearDeadlineRemovesIt) {
  Record& record = newRecord();
  int peer;
  Transport& transport = connect(record, &peer);
  transport.setDeadline(0.1);
  transport.clearDeadline();
  runFor(0.4);
  EXPECT_EQ(record.timeouts, 0);
}

TEST_F(TransportTest, CloseAfterWriteSendsEverythingThenHalfCloses) {
  Record& record = newRecord();
  int peer;
  Transport& transport = connect(record, &peer);
  std::string big(300 * 1024, 'x');  // more than one socket buffer: several flushes
  transport.output().append("head:");
  transport.output().append(big);
  transport.output().append(":tail");
  transport.closeAfterWrite();
  EXPECT_TRUE(transport.closing());
  std::string got;
  bool eof = false;
  ASSERT_TRUE(runUntil(
      [&] {
        got += drain(peer, &eof);
        return eof;
      },
      5))
      << "no EOF after " << got.size() << " bytes";
  EXPECT_EQ(got, "head:" + big + ":tail");
  // Half-closed, not closed: the transport still reads (and drops) what the peer sends.
  EXPECT_EQ(record.closed, 0);
  write(peer, "late bytes");
  runFor(0.1);
  EXPECT_EQ(record.data_calls, 0) << "the protocol heard bytes after closeAfterWrite";
  // The peer closes: the lingering close ends at once.
  ::shutdown(peer, SHUT_WR);
  ASSERT_TRUE(runUntil([&] { return record.closed > 0; }, 3));
  EXPECT_EQ(record.closed, 1);
  EXPECT_EQ(record.reason, CloseReason::kDone);
}

TEST_F(TransportTest, LingeringCloseBoundedWhenPeerNeverCloses) {
  Record& record = newRecord();
  int peer;
  Transport& transport = connect(record, &peer);
  transport.output().append("bye");
  transport.closeAfterWrite();
  auto start = Clock::now();
  bool eof = false;
  std::string got;
  ASSERT_TRUE(runUntil(
      [&] {
        got += drain(peer, &eof);
        return record.closed > 0;
      },
      6))
      << "still lingering after 6 s";
  EXPECT_EQ(got, "bye");
  EXPECT_TRUE(eof);
  EXPECT_EQ(record.reason, CloseReason::kDone);
  EXPECT_LT(secondsSince(start), 6);
}

TEST_F(TransportTest, LingeringCloseBoundedWhenPeerKeepsSending) {
  Record& record = newRecord();
  int peer;
  Transport& transport = connect(record, &peer);
  transport.output().append("bye");
  transport.closeAfterWrite();
  auto start = Clock::now();
  auto last_send = start;
  std::string chunk(512, 'g');
  ASSERT_TRUE(runUntil(
      [&] {
        drain(peer);
        if (secondsSince(last_send) > 0.02) {  // a steady trickle: never the 1 MB cut-off
          last_send = Clock::now();
          (void)::write(peer, chunk.data(), chunk.size());
        }
        return record.closed > 0;
      },
      6))
      << "a peer that keeps sending kept the connection lingering for 6 s";
  EXPECT_EQ(record.closed, 1);
  EXPECT_EQ(record.reason, CloseReason::kDone);
  EXPECT_EQ(record.data_calls, 0);
}

TEST_F(TransportTest, SendTimeoutClosesAPeerThatDoesNotRead) {
  makeSet(TransportOptions{.send_timeout = 0.3});
  Record& record = newRecord();
  int peer;
  Transport& transport = connect(record, &peer);
  transport.output().append(std::string(8 * 1024 * 1024, 'z'));  // far above any socket buffer
  ev_now_update(loop_);  // building 8 MB took a while; see connect()
  transport.scheduleFlush();
  auto start = Clock::now();
  ASSERT_TRUE(runUntil([&] { return record.closed > 0; }, 5)) << "stalled peer not closed in 5 s";
  EXPECT_GE(secondsSince(start), 0.25);
  EXPECT_EQ(record.closed, 1);
  EXPECT_EQ(record.reason, CloseReason::kSendTimeout);
  EXPECT_TRUE(transport.closed());
}

TEST_F(TransportTest, NoSendTimeoutWhileNothingIsQueued) {
  // A peer that reads nothing is no problem while everything we sent fits in the socket.
  makeSet(TransportOptions{.send_timeout = 0.2});
  Record& record = newRecord();
  int peer;
  Transport& transport = connect(record, &peer);
  transport.output().append("small answer");
  transport.scheduleFlush();
  ASSERT_TRUE(runUntil([&] { return transport.output().empty(); }, 3));
  runFor(0.6);
  EXPECT_EQ(record.closed, 0);
  EXPECT_EQ(drain(peer), "small answer");
}

TEST_F(TransportTest, ClosingTransportWhosePeerDoesNotReadIsClosedBySendTimeout) {
  // The closing state is bounded even before the lingering starts: the last response cannot
  // be written to a peer that reads nothing and never closes.
  makeSet(TransportOptions{.send_timeout = 0.3});
  Record& record = newRecord();
  int peer;
  Transport& transport = connect(record, &peer);
  transport.output().append(std::string(8 * 1024 * 1024, 'c'));
  ev_now_update(loop_);
  transport.closeAfterWrite();
  ASSERT_TRUE(runUntil([&] { return record.closed > 0; }, 5)) << "closing transport stuck";
  EXPECT_EQ(record.reason, CloseReason::kSendTimeout);
}

TEST_F(TransportTest, LingeringCloseEndsEarlyWhenThePeerFloods) {
  // Past a cap on the bytes read and dropped, lingering stops at once rather than after its
  // time: a peer streaming garbage does not get to keep the worker reading.
  Record& record = newRecord();
  int peer;
  Transport& transport = connect(record, &peer);
  transport.closeAfterWrite();
  ASSERT_TRUE(runUntil(
      [&] {
        bool eof = false;
        drain(peer, &eof);
        return eof;
      },
      3));
  std::string chunk(64 * 1024, 'f');
  size_t sent = 0;
  auto start = Clock::now();
  ASSERT_TRUE(runUntil(
      [&] {
        ssize_t put = ::write(peer, chunk.data(), chunk.size());
        if (put > 0) sent += static_cast<size_t>(put);
        return record.closed > 0;
      },
      6));
  EXPECT_EQ(record.reason, CloseReason::kDone);
  EXPECT_GT(sent, 1024u * 1024u);
  EXPECT_LT(secondsSince(start), 1.8) << "closed by the time bound, not the byte cap";
}

TEST_F(TransportTest, OneTimerServesTheProtocolDeadlineAndTheSendTimeout) {
  // Earliest first, whichever that is: a protocol deadline due before the send timeout fires
  // (and the send timeout still follows); a later one does not hold the send timeout back.
  makeSet(TransportOptions{.send_timeout = 0.6});
  Record& record = newRecord();
  int peer;
  Transport& transport = connect(record, &peer);
  transport.setDeadline(30);
  transport.output().append(std::string(8 * 1024 * 1024, 't'));
  ev_now_update(loop_);
  transport.scheduleFlush();
  turn();
  transport.setDeadline(0.1);  // now earlier than the send timeout
  auto start = Clock::now();
  ASSERT_TRUE(runUntil([&] { return record.timeouts > 0; }, 3));
  EXPECT_EQ(record.closed, 0) << "the send timeout fired before the earlier protocol deadline";
  ASSERT_TRUE(runUntil([&] { return record.closed > 0; }, 5));
  EXPECT_EQ(record.reason, CloseReason::kSendTimeout);
  EXPECT_EQ(record.timeouts, 1);
  EXPECT_GE(secondsSince(start), 0.3);
}

TEST_F(TransportTest, SlowButSteadyReaderIsNotClosed) {
  makeSet(TransportOptions{.send_timeout = 0.5});
  Record& record = newRecord();
  int peer;
  Transport& transport = connect(record, &peer);
  const size_t total = 3 * 1024 * 1024;
  transport.output().append(std::string(total, 'y'));
  transport.scheduleFlush();
  // ~1.3 MB/s: the whole transfer takes several send timeouts, but no gap is one.
  size_t got = 0;
  auto last_read = Clock::now();
  auto start = last_read;
  ASSERT_TRUE(runUntil(
      [&] {
        if (secondsSince(last_read) > 0.025) {
          last_read = Clock::now();
          got += drain(peer, nullptr, 32 * 1024).size();
        }
        return got == total || record.closed > 0;
      },
      20));
  EXPECT_EQ(record.closed, 0) << "closed after " << got << " bytes, reason "
                              << static_cast<int>(record.reason);
  EXPECT_EQ(got, total);
  EXPECT_GT(secondsSince(start), 1.0) << "the reader was not slow: the test proves nothing";
  runFor(0.8);  // a send deadline left armed after the queue emptied would fire here
  EXPECT_EQ(record.closed, 0);
  EXPECT_TRUE(transport.output().empty());
}

TEST_F(TransportTest, SwitchProtocolHandsLeftoverThenLaterBytesToTheNewOne) {
  Record& old_record = newRecord();
  Record& new_record = newRecord();
  bool old_alive_during_leftover = false;
  int peer;
  TestProtocol* old_protocol;
  Transport& transport = connect(old_record, &peer, &old_protocol);
  old_protocol->on_data = [&](const char* data, size_t size) {
    std::string text(data, size);
    size_t end = text.find("\r\n");
    if (end == std::string::npos) return;
    auto next = std::make_unique<TestProtocol>(new_record);
    next->on_data = [&](const char*, size_t) {
      if (new_record.data_calls == 1) old_alive_during_leftover = !old_record.destroyed;
    };
    // The old protocol is on the stack here: the transport must not delete it yet.
    transport.switchProtocol(std::move(next), text.substr(end + 2));
    EXPECT_FALSE(old_record.destroyed);
  };
  write(peer, "UPGRADE\r\nleftover");
  ASSERT_TRUE(runUntil([&] { return new_record.data == "leftover"; }, 3)) << new_record.data;
  EXPECT_TRUE(old_alive_during_leftover);
  EXPECT_EQ(old_record.data, "UPGRADE\r\nleftover");
  ASSERT_TRUE(runUntil([&] { return old_record.destroyed; }, 1))
      << "the old protocol outlived the loop turn";
  write(peer, " later");
  ASSERT_TRUE(runUntil([&] { return new_record.data == "leftover later"; }, 3)) << new_record.data;
  EXPECT_EQ(old_record.data_calls, 1);
  transport.close();
  EXPECT_EQ(new_record.closed, 1);
  EXPECT_EQ(old_record.closed, 0) << "the retired protocol heard onClosed";
}

TEST_F(TransportTest, SwitchProtocolWithoutLeftover) {
  Record& old_record = newRecord();
  Record& new_record = newRecord();
  int peer;
  Transport& transport = connect(old_record, &peer);
  transport.switchProtocol(std::make_unique<TestProtocol>(new_record), "");
  ASSERT_TRUE(runUntil([&] { return old_record.destroyed; }, 1));
  EXPECT_EQ(new_record.data_calls, 0);
  write(peer, "next");
  ASSERT_TRUE(runUntil([&] { return new_record.data == "next"; }, 3));
}

TEST_F(TransportTest, CloseCallsOnClosedExactlyOnceAndDeletesAfterTheTurn) {
  Record& record = newRecord();
  int peer;
  Transport& transport = connect(record, &peer);
  transport.output().append("never sent");
  transport.close(CloseReason::kLocal);
  EXPECT_EQ(record.closed, 1);
  EXPECT_EQ(record.reason, CloseReason::kLocal);
  EXPECT_TRUE(transport.closed());
  EXPECT_TRUE(transport.output().empty());
  EXPECT_FALSE(record.destroyed) << "deleted under the caller's feet";
  transport.close(CloseReason::kAborted);  // a second close is a no-op
  transport.closeAfterWrite();
  EXPECT_EQ(record.closed, 1);
  EXPECT_EQ(record.reason, CloseReason::kLocal);
  ASSERT_TRUE(runUntil([&] { return record.destroyed; }, 1));
  bool eof = false;
  EXPECT_EQ(drain(peer, &eof), "");
  EXPECT_TRUE(eof);
  EXPECT_EQ(set_->size(), 0u);
}

TEST_F(TransportTest, CloseFromInsideOnDataCallsOnClosedOnce) {
  Record& record = newRecord();
  int peer;
  TestProtocol* protocol;
  Transport& transport = connect(record, &peer, &protocol);
  protocol->on_data = [&](const char*, size_t) { transport.close(); };
  write(peer, "x");
  ASSERT_TRUE(runUntil([&] { return record.destroyed; }, 3));
  EXPECT_EQ(record.closed, 1);
}

TEST_F(TransportTest, PeerClosingIsReportedThenTheProtocolDecides) {
  Record& record = newRecord();
  int peer;
  Transport& transport = connect(record, &peer);
  write(peer, "last");
  ::shutdown(peer, SHUT_WR);
  ASSERT_TRUE(runUntil([&] { return record.peer_closed > 0; }, 3));
  EXPECT_EQ(record.data, "last");
  EXPECT_EQ(record.closed, 0);
  runFor(0.1);
  EXPECT_EQ(record.peer_closed, 1) << "end of input reported again";
  transport.close(CloseReason::kPeerGone);
  EXPECT_EQ(record.closed, 1);
  EXPECT_EQ(record.reason, CloseReason::kPeerGone);
}

TEST_F(TransportTest, ShutdownNotifiesOnlyOpenTransports) {
  Record& open_record = newRecord();
  Record& closing_record = newRecord();
  int peer1;
  int peer2;
  Transport& open = connect(open_record, &peer1);
  Transport& closing = connect(closing_record, &peer2);
  closing.closeAfterWrite();
  open.notifyShutdown();
  closing.notifyShutdown();
  EXPECT_EQ(open_record.shutdowns, 1);
  EXPECT_EQ(closing_record.shutdowns, 0);
}

TEST_F(TransportTest, SetCountsVisitsAndReportsRetiredTransports) {
  makeSet();
  int retired = 0;
  set_->onRetired([&] { ++retired; });
  Record* records[3] = {&newRecord(), &newRecord(), &newRecord()};
  int peers[3];
  Transport* transports[3];
  for (int i = 0; i < 3; ++i) transports[i] = &connect(*records[i], &peers[i]);
  EXPECT_EQ(set_->size(), 3u);
  EXPECT_NE(transports[0]->id(), transports[1]->id());
  EXPECT_NE(transports[1]->id(), transports[2]->id());

  transports[1]->close();
  EXPECT_EQ(retired, 1);
  EXPECT_EQ(set_->size(), 2u);
  int visited = 0;
  set_->forEach([&](Transport& transport) {
    ++visited;
    EXPECT_FALSE(transport.closed());
    EXPECT_NE(&transport, transports[1]);
  });
  EXPECT_EQ(visited, 2);

  // forEach may close what it visits (what abortAll does).
  set_->forEach([](Transport& transport) { transport.close(CloseReason::kAborted); });
  EXPECT_EQ(set_->size(), 0u);
  EXPECT_EQ(retired, 3);
  EXPECT_EQ(records[0]->reason, CloseReason::kAborted);
  EXPECT_EQ(records[2]->reason, CloseReason::kAborted);
  ASSERT_TRUE(runUntil([&] { return records[0]->destroyed && records[2]->destroyed; }, 1));
  for (const Record* record : records) EXPECT_EQ(record->closed, 1);
}

TEST_F(TransportTest, DestroyingTheSetAbortsLiveTransports) {
  Record& record = newRecord();
  int peer;
  connect(record, &peer);
  set_.reset();
  EXPECT_EQ(record.closed, 1);
  EXPECT_EQ(record.reason, CloseReason::kAborted);
  EXPECT_TRUE(record.destroyed);
}

}  // namespace
}  // namespace asgid::net
