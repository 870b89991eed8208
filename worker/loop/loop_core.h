// LoopCore: the native heart of asgid_loop.Loop. It owns a libev loop (ev_loop_new, never the
// default loop) and everything asyncio's BaseEventLoop keeps in Python: the ready queue, the
// timers, the fd watchers, the thread-safe wake-up (ev_async) and the signal watchers.
//
// One iteration (runOnce) is asyncio's _run_once: poll (ev_run, non-blocking if callbacks are
// already ready or the loop is stopping), put the expired timers on the ready queue, then run
// exactly the handles that were ready at that point; what they schedule runs next iteration.
// Watchers that C++ code adds to ev() run inside the poll, GIL held, like the core's own.
//
// The GIL is released only while libev waits in the kernel (ev_set_loop_release_cb).
// Thread-safety: every member requires the GIL except wake(), which any thread may call while
// the core is open. The ready queue is only touched with the GIL held, so call_soon_threadsafe
// appends to it directly (the GIL orders it with call_soon, as in asyncio) and then wakes the
// loop.
#pragma once

#include <Python.h>
#include <ev.h>

#include <deque>

#include "worker/loop/loop_fds.h"
#include "worker/loop/loop_signals.h"
#include "worker/loop/loop_timers.h"
#include "worker/python/py_ref.h"

namespace asgid::py::loop {

class LoopCore {
 public:
  // `self` is the Python LoopCore object that owns this (a borrowed back-pointer); `py_loop`
  // the asyncio loop (a strong reference is kept, for call_exception_handler and _stopping).
  // Throws std::runtime_error if libev cannot create a loop.
  LoopCore(PyObject* self, PyObject* py_loop);
  ~LoopCore();
  LoopCore(const LoopCore&) = delete;
  LoopCore& operator=(const LoopCore&) = delete;

  static LoopCore* fromEv(struct ev_loop* ev) { return static_cast<LoopCore*>(ev_userdata(ev)); }

  // Valid until the core is destroyed (even after close(), so C++ watchers can be stopped).
  struct ev_loop* ev() const {
    return ev_;
  }
  PyObject* self() const { return self_; }
  PyObject* pyLoop() const { return py_loop_.get(); }  // null once cleared by the GC

  // Closed: no new callbacks, timers or fd watchers (RuntimeError), as asyncio after close().
  bool closed() const { return closed_; }
  void markClosed() { closed_ = true; }
  // Marks closed, stops the core's own watchers and drops every handle. Idempotent. C++
  // watchers on ev() are left alone.
  void close();
  // close() and forget the Python loop (GC tp_clear).
  void clear();

  bool debug() const { return debug_; }
  void setDebug(bool debug) { debug_ = debug; }

  TimerSet& timers() { return timers_; }
  FdTable& fds() { return fds_; }
  SignalTable& signals() { return signals_; }

  // Appends a handle (native or any object with _run() and _cancelled); takes a new reference.
  void pushReady(PyObject* handle);
  // Drops `object`'s reference after the current poll (for code running inside ev_run).
  void deferDecref(PyObject* object) { deferred_.push_back(object); }
  size_t readySize() const { return ready_.size(); }
  void clearReady();

  // asyncio.Future(loop=<the Python loop>), without a Python frame. New reference or null.
  PyObject* newFuture();

  // One loop iteration. New reference to None, or null with an exception set.
  PyObject* runOnce();
  // Wakes a sleeping poll. Any thread, GIL not needed; no-op once closed.
  void wake();
  // The fd Python's signal module writes to (signal.set_wakeup_fd) so that a signal with a
  // Python-level handler interrupts the poll and the handler runs at once.
  int signalWakeupFd() const { return signal_pipe_[1]; }

  int traverse(visitproc visit, void* arg) const;

 private:
  static void onRelease(struct ev_loop* ev) noexcept;
  static void onAcquire(struct ev_loop* ev) noexcept;
  static void onWake(struct ev_loop* ev, ev_async* watcher, int revents) noexcept;
  static void onSignalWakeup(struct ev_loop* ev, ev_io* watcher, int revents) noexcept;
  void openSignalPipe();
  int stopping();  // loop._stopping: 1, 0, or -1 with an exception set
  void poll(bool nowait);
  int runReady();
  int runOne(PyObject* handle);
  void releaseDeferred();

  PyObject* self_;
  PyRef py_loop_;
  PyRef stopping_name_;
  PyRef run_debug_name_;
  PyRef future_type_;   // asyncio.futures.Future, looked up on first use
  PyRef loop_kwnames_;  // ("loop",)
  struct ev_loop* ev_;
  ev_async wake_;
  ev_io signal_wakeup_;
  int signal_pipe_[2] = {-1, -1};
  PyThreadState* released_ = nullptr;  // set while the poll waits without the GIL
  bool nowait_ = false;
  bool closed_ = false;
  bool torn_down_ = false;
  bool debug_ = false;
  std::deque<PyObject*> ready_;  // owned references
  Garbage deferred_;
  TimerSet timers_;
  FdTable fds_;
  SignalTable signals_;
};

}  // namespace asgid::py::loop
