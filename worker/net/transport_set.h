// Principle: the live transports of a worker and what they share: the read buffer (one for
// all: a read is consumed before the next one starts), the flush pass, deferred deletion and
// the "don't sleep" wake-up. Writes queued during a loop turn leave in one writev per
// transport from an ev_prepare watcher, right before the loop waits in the kernel; closed
// transports are deleted in the same pass, when no callback can still be using them.
#pragma once

#include <ev.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "worker/net/endpoint.h"

namespace asgid::net {

class Transport;

struct TransportOptions {
  double send_timeout = 30.0;  // --timeout-send
};

class TransportSet {
 public:
  TransportSet(struct ev_loop* loop, TransportOptions options);
  // Closes every live transport (kAborted) and deletes them all.
  ~TransportSet();
  TransportSet(const TransportSet&) = delete;
  TransportSet& operator=(const TransportSet&) = delete;

  // A new transport for an accepted socket (which it owns from now on); start() it.
  Transport& add(int fd, Endpoint peer, const ListenerInfo& local);

  size_t size() const { return live_.size(); }
  // Calls `fn` on each live transport; `fn` may close them.
  void forEach(const std::function<void(Transport&)>& fn);
  // Called after a transport closed (for "drained" checks).
  void onRetired(std::function<void()> callback) { on_retired_ = std::move(callback); }

  // For transports.
  struct ev_loop* loop() const {
    return loop_;
  }
  const TransportOptions& options() const { return options_; }
  char* readBuffer() { return read_buffer_.get(); }
  static constexpr size_t kReadBufferSize = 64 * 1024;
  void scheduleFlush(Transport& transport);
  void retire(Transport& transport);
  // Makes the loop's next wait non-blocking (work was queued from a prepare callback).
  void wakeSoon();

 private:
  static void onPrepare(struct ev_loop* loop, ev_prepare* watcher, int events);
  static void onIdle(struct ev_loop* loop, ev_idle* watcher, int events);
  void flushAndReap();

  struct ev_loop* loop_;
  TransportOptions options_;
  std::vector<Transport*> live_;
  std::vector<Transport*> dirty_;
  std::vector<Transport*> retired_;
  std::unique_ptr<char[]> read_buffer_;
  ev_prepare prepare_;
  ev_idle wake_;
  std::function<void()> on_retired_;
  uint64_t next_id_ = 1;
};

}  // namespace asgid::net
