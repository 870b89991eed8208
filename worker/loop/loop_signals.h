// loop.add_signal_handler() on libev: one ev_signal per signal number. libev's handler only
// records the signal and wakes the loop; the Handle runs from the ready queue like any
// callback. Other watchers for the same signal on the same loop (the C++ server watches
// SIGINT/SIGTERM) keep working: libev runs them all.
//
// When the last libev watcher of a signal goes, libev resets it to SIG_DFL; if adding ours was
// what replaced the previous disposition (Python's own handler, SIG_IGN...), it is put back.
//
// libev aborts if two loops watch one signal. As with asyncio's process-wide wake-up fd, the
// loop that added a handler most recently gets the signal: the previous owner's watcher is
// detached (its handler stays registered but no longer fires). C++ code must therefore watch
// signals only on the worker's own loop, which no other loop can take them from unless Python
// code adds a handler for the same signal on another loop.
//
// All functions require the GIL.
#pragma once

#include <Python.h>
#include <ev.h>
#include <signal.h>

#include <map>
#include <memory>

#include "worker/loop/loop_timers.h"
#include "worker/python/py_ref.h"

namespace asgid::py::loop {

class SignalTable {
 public:
  explicit SignalTable(struct ev_loop* ev) : ev_(ev) {}
  SignalTable(const SignalTable&) = delete;
  SignalTable& operator=(const SignalTable&) = delete;

  // Makes `handle` (a new reference is taken) the handler of `signum`; returns the one it
  // replaces (owned) or a null PyRef.
  PyRef set(int signum, PyObject* handle);
  // Returns the removed handler (owned), or a null PyRef if there was none.
  PyRef remove(int signum);
  void releaseAll(Garbage& garbage);
  int traverse(visitproc visit, void* arg) const;

 private:
  struct Watch {
    ev_signal watcher;
    PyObject* handle = nullptr;
    struct sigaction previous;
    bool restore_previous = false;
    bool attached = false;  // false once another loop took the signal over
  };
  static void onSignal(struct ev_loop* ev, ev_signal* watcher, int revents) noexcept;
  void attach(Watch& watch);
  // Stops the watcher; with `restore`, puts back the disposition it replaced.
  void detach(Watch& watch, bool restore);

  struct ev_loop* ev_;
  std::map<int, std::unique_ptr<Watch>> watches_;
};

}  // namespace asgid::py::loop
