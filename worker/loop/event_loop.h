// Principle: the worker's libev loop *is* the app's asyncio event loop. `asgid_loop.Loop` is a
// real asyncio event loop (a subclass of the standard library's Unix selector loop, so
// transports, streams, servers, subprocesses and executors are the stdlib's own), whose core is
// native on libev: the ready queue, timers (call_at/call_later), fd watchers
// (add_reader/add_writer and everything built on them), call_soon_threadsafe wake-ups and
// signal wake-ups (add_signal_handler). The C++ HTTP server registers its own watchers on the
// same ev loop, so sockets owned by C++ and the app's Python code share one loop and one thread.
//
// The GIL is held by the loop's thread at all times except while libev waits in the kernel
// (ev_set_loop_release_cb), so executor threads run while the loop sleeps, and every watcher
// callback, native or Python, runs with the GIL held.
#pragma once

#include <Python.h>

#include <memory>

struct ev_loop;

namespace asgid::py {

// Registers the `_asgid_loop` built-in extension module. Must be called before the interpreter
// is initialised (Interpreter does it).
void registerLoopModule();

class EventLoop {
 public:
  // Creates a new libev loop (ev_loop_new, never the default loop: its SIGCHLD handler would
  // reap the children of asyncio's subprocess support) and the Python loop object on it, and
  // makes it the thread's current event loop (asyncio.set_event_loop). GIL held. Throws PyError.
  static std::unique_ptr<EventLoop> create();
  // Closes the Python loop and destroys the libev loop. GIL held.
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // The libev loop, valid for the EventLoop's lifetime. C++ code may add its own watchers
  // (ev_io, ev_timer, ev_prepare, ev_check, ev_async, ev_signal) from the loop's thread with
  // the GIL held; they run inside loop._run_once()'s poll with the GIL held, before that
  // iteration's ready callbacks, so a task created in a watcher callback takes its first step
  // in the same iteration. Callbacks must not throw and must not leave a Python exception set.
  // ev_prepare watchers run before every poll, including the non-blocking ones. Never call
  // ev_run/ev_break on it: drive it with runForever()/runUntilComplete(). Stop every C++
  // watcher before destroying the EventLoop.
  struct ev_loop* ev() const;
  // The asyncio loop object (borrowed reference, valid for the EventLoop's lifetime).
  PyObject* pyLoop() const;

  // loop.run_forever(): returns after loop.stop(). GIL held. Throws PyError if it raised.
  void runForever();
  // loop.run_until_complete(awaitable): returns a new reference to the result. Throws PyError.
  PyObject* runUntilComplete(PyObject* awaitable);
  // loop.stop(), from the loop's thread, GIL held.
  // runForever() returns once the current iteration's ready callbacks have run. Another
  // thread wakes the loop with loop.call_soon_threadsafe() (GIL) or its own ev_async.
  void stop();

  enum class TaskStart {
    kScheduled,  // the first step runs from the ready queue (asyncio's default)
    // On Python 3.12+ (compat::kEagerTaskStart) the first step runs inside createTask(), with
    // the task as current_task(); the task may be done when createTask() returns, and the
    // caller must be ready for whatever that step calls back into. On 3.11: kScheduled.
    // Only while the loop runs (asyncio schedules the step otherwise).
    kEager,
  };
  // An asyncio Task running `coro` on this loop, made without a Python-level create_task call.
  // New reference, or null with a Python exception set. GIL held.
  PyObject* createTask(PyObject* coro, TaskStart start = TaskStart::kScheduled);
  // loop.create_future(), as fast as it can be made. New reference or null with exception set.
  PyObject* createFuture();

 private:
  struct Impl;
  explicit EventLoop(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace asgid::py
