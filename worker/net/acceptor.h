// Principle: the listening sockets' accept watchers. Accepts in batches (one busy listener
// cannot starve the loop) and hands each new socket on. When the process runs out of
// descriptors or kernel memory (EMFILE, ENFILE, ENOBUFS, ENOMEM) the pending connection stays
// in the kernel's queue and the listener would stay readable: accepting again at once would
// spin the worker at 100 % CPU writing the same error. Instead every listener pauses for a
// moment (one log line per pause), the open connections go on being served and free
// descriptors as they finish, and accepting resumes.
#pragma once

#include <ev.h>

#include <functional>
#include <memory>
#include <vector>

#include "worker/net/endpoint.h"

namespace asgid::net {

class Acceptor {
 public:
  // `on_accept(fd, peer, listener)`: a new non-blocking, close-on-exec socket; the callee owns
  // it. `open_connections` tells the log how many the process holds when it pauses.
  using AcceptFn = std::function<void(int fd, Endpoint peer, const ListenerInfo& listener)>;
  Acceptor(struct ev_loop* loop, AcceptFn on_accept, std::function<size_t()> open_connections);
  ~Acceptor();
  Acceptor(const Acceptor&) = delete;
  Acceptor& operator=(const Acceptor&) = delete;

  void add(const ListenerInfo& listener);
  void start();
  // Stops accepting for good (the worker drains).
  void stop();

  bool paused() const { return paused_; }
  // How long accepting pauses after running out of descriptors.
  static constexpr double kPauseSeconds = 0.5;

 private:
  struct Listener {
    ev_io watcher;
    ListenerInfo info;
    Acceptor* acceptor;
  };
  static void onAcceptable(struct ev_loop* loop, ev_io* watcher, int events);
  static void onResume(struct ev_loop* loop, ev_timer* watcher, int events);
  void acceptFrom(Listener& listener);
  void pause(int error);
  void setWatching(bool on);

  struct ev_loop* loop_;
  AcceptFn on_accept_;
  std::function<size_t()> open_connections_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  ev_timer resume_;
  bool started_ = false;
  bool paused_ = false;
};

}  // namespace asgid::net
