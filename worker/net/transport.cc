#include "worker/net/transport.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

#include "common/client_log.h"
#include "worker/net/transport_set.h"

namespace asgid::net {
namespace {

// The lingering close: how long, and how many bytes, we read and drop after half-closing.
constexpr double kLingerSeconds = 2.0;
constexpr size_t kLingerMaxBytes = 1024 * 1024;
// libev fires a timer no earlier than its time, but the loop time is a double: tolerate the
// rounding rather than re-arm for a microsecond.
constexpr double kTimerSlack = 1e-6;

}  // namespace

Transport::Transport(TransportSet& set, int fd, uint64_t id, Endpoint peer,
                     const ListenerInfo& local)
    : set_(set),
      fd_(fd),
      id_(id),
      peer_(std::move(peer)),
      local_{local.host, local.port},
      unix_socket_(local.unix_socket) {
  ev_io_init(&read_watcher_, onIo, fd, EV_READ);
  read_watcher_.data = this;
  ev_io_init(&write_watcher_, onIo, fd, EV_WRITE);
  write_watcher_.data = this;
  ev_init(&timer_, onTimer);
  timer_.data = this;
}

Transport::~Transport() {
  if (fd_ < 0) return;
  // Only reached when the set is destroyed without closing (it closes first): no callbacks.
  struct ev_loop* loop = set_.loop();
  ev_io_stop(loop, &read_watcher_);
  ev_io_stop(loop, &write_watcher_);
  ev_timer_stop(loop, &timer_);
  ::close(fd_);
}

void Transport::start(std::unique_ptr<Protocol> protocol) {
  protocol_ = std::move(protocol);
  setReading(true);
}

void Transport::switchProtocol(std::unique_ptr<Protocol> protocol, std::string leftover) {
  retired_protocol_ = std::move(protocol_);
  protocol_ = std::move(protocol);
  protocol_deadline_ = 0;
  scheduleFlush();  // deletes the old protocol from the flush pass
  if (!leftover.empty()) protocol_->onData(leftover.data(), leftover.size());
}

void Transport::scheduleFlush() {
  set_.scheduleFlush(*this);
}

void Transport::setReading(bool on) {
  want_read_ = on;
  updateReadWatcher();
}

void Transport::updateReadWatcher() {
  bool want = fd_ >= 0 && !peer_closed_ && (lingering_ || (want_read_ && !closing_));
  if (want && !ev_is_active(&read_watcher_)) {
    ev_io_start(set_.loop(), &read_watcher_);
  } else if (!want && ev_is_active(&read_watcher_)) {
    ev_io_stop(set_.loop(), &read_watcher_);
  }
}

void Transport::setDeadline(double seconds) {
  protocol_deadline_ = ev_now(set_.loop()) + seconds;
  armTimer();
}

void Transport::clearDeadline() {
  protocol_deadline_ = 0;  // a timer armed for it fires once, finds nothing due, and re-arms
}

void Transport::armTimer() {
  double next = 0;
  for (double deadline : {protocol_deadline_, send_deadline_, linger_deadline_}) {
    if (deadline > 0 && (next == 0 || deadline < next)) next = deadline;
  }
  struct ev_loop* loop = set_.loop();
  if (next == 0 || (ev_is_active(&timer_) && armed_at_ <= next)) return;
  ev_timer_stop(loop, &timer_);
  ev_timer_set(&timer_, std::max(0.0, next - ev_now(loop)), 0.0);
  ev_timer_start(loop, &timer_);
  armed_at_ = next;
}

void Transport::onIo(struct ev_loop*, ev_io* watcher, int) {
  auto* transport = static_cast<Transport*>(watcher->data);
  if (watcher == &transport->read_watcher_) {
    transport->onReadable();
  } else {
    transport->flush();
  }
}

void Transport::onTimer(struct ev_loop*, ev_timer* watcher, int) {
  static_cast<Transport*>(watcher->data)->onTimerFired();
}

void Transport::onReadable() {
  char* buffer = set_.readBuffer();
  ssize_t got = ::read(fd_, buffer, TransportSet::kReadBufferSize);
  if (got < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
    close(CloseReason::kPeerGone);
    return;
  }
  if (got == 0) {
    peer_closed_ = true;
    updateReadWatcher();
    if (lingering_) {
      close(CloseReason::kDone);
    } else if (!closing_) {
      protocol_->onPeerClosed();
    }
    return;
  }
  if (lingering_) {
    lingering_drained_ += static_cast<size_t>(got);
    if (lingering_drained_ > kLingerMaxBytes) close(CloseReason::kDone);
    return;
  }
  protocol_->onData(buffer, static_cast<size_t>(got));
}

void Transport::flush() {
  in_flush_list_ = false;
  retired_protocol_.reset();
  if (fd_ < 0) return;
  if (!output_.empty()) {
    size_t before = output_.bytes();
    if (output_.writeTo(fd_) == OutputQueue::WriteStatus::kError) {
      close(CloseReason::kPeerGone);
      return;
    }
    struct ev_loop* loop = set_.loop();
    if (output_.empty()) {
      send_deadline_ = 0;
      ev_io_stop(loop, &write_watcher_);
    } else {
      // The socket is full: the peer must take some bytes within the send timeout. Any
      // progress restarts the wait; a stalled peer is closed by the timer.
      if (output_.bytes() < before || send_deadline_ == 0) {
        send_deadline_ = ev_now(loop) + set_.options().send_timeout;
        armTimer();
      }
      ev_io_start(loop, &write_watcher_);
    }
  }
  if (closing_) {
    if (output_.empty()) beginLingering();
    return;
  }
  protocol_->onFlushed();
}

void Transport::closeAfterWrite() {
  if (fd_ < 0 || closing_) return;
  closing_ = true;
  protocol_deadline_ = 0;
  updateReadWatcher();
  scheduleFlush();
}

void Transport::notifyShutdown() {
  if (fd_ >= 0 && !closing_ && protocol_) protocol_->onShutdown();
}

void Transport::beginLingering() {
  if (lingering_) return;
  if (peer_closed_) {
    close(CloseReason::kDone);
    return;
  }
  ::shutdown(fd_, SHUT_WR);
  lingering_ = true;
  linger_deadline_ = ev_now(set_.loop()) + kLingerSeconds;
  updateReadWatcher();
  armTimer();
}

void Transport::onTimerFired() {
  armed_at_ = 0;
  double now = ev_now(set_.loop()) + kTimerSlack;
  if (linger_deadline_ > 0 && now >= linger_deadline_) {
    close(CloseReason::kDone);
    return;
  }
  if (send_deadline_ > 0 && now >= send_deadline_) {
    log::clientNoise("conn {} {}: the peer read nothing for {}s (--timeout-send): closing", id_,
                     peer_.host, set_.options().send_timeout);
    close(CloseReason::kSendTimeout);
    return;
  }
  if (protocol_deadline_ > 0 && now >= protocol_deadline_ && !closing_) {
    protocol_deadline_ = 0;
    protocol_->onTimeout();
    if (fd_ < 0) return;
  }
  armTimer();
}

void Transport::close(CloseReason reason) {
  if (fd_ < 0) return;
  struct ev_loop* loop = set_.loop();
  ev_io_stop(loop, &read_watcher_);
  ev_io_stop(loop, &write_watcher_);
  ev_timer_stop(loop, &timer_);
  ::close(fd_);
  fd_ = -1;
  output_.clear();
  if (protocol_) protocol_->onClosed(reason);
  set_.retire(*this);
}

}  // namespace asgid::net
