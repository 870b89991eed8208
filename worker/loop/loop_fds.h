// The loop's file descriptor watchers: one ev_io per fd with a reader and a writer Handle,
// which is what asyncio's selector keys hold ((reader, writer) in key.data). An event puts the
// handle on the ready queue, as BaseSelectorEventLoop._process_events does; a cancelled
// handle is unregistered instead.
//
// libev reads the interest set lazily and copes with an fd that was closed and reused as long
// as the watcher is re-set (ev_io_set) before it is restarted, which every change here does.
//
// All functions require the GIL.
#pragma once

#include <Python.h>
#include <ev.h>

#include <memory>
#include <vector>

#include "worker/loop/loop_timers.h"
#include "worker/python/py_ref.h"

namespace asgid::py::loop {

enum class FdEvent { kRead, kWrite };

class FdTable {
 public:
  explicit FdTable(struct ev_loop* ev) : ev_(ev) {}
  FdTable(const FdTable&) = delete;
  FdTable& operator=(const FdTable&) = delete;

  // Makes `handle` (a new reference is taken) the reader or writer of `fd`; returns the one it
  // replaces (owned) or a null PyRef.
  PyRef set(int fd, FdEvent event, PyObject* handle);
  // Unregisters the reader or writer of `fd`; returns it (owned) or a null PyRef.
  PyRef remove(int fd, FdEvent event);
  // The selector-key view: false if fd has neither reader nor writer. Borrowed references.
  bool lookup(int fd, int* events, PyObject** reader, PyObject** writer) const;
  void releaseAll(Garbage& garbage);
  int traverse(visitproc visit, void* arg) const;

 private:
  struct Watch {
    ev_io io;
    PyObject* reader = nullptr;
    PyObject* writer = nullptr;
  };
  static void onReady(struct ev_loop* ev, ev_io* watcher, int revents) noexcept;
  void dispatch(Watch& watch, FdEvent event);
  void update(Watch& watch);
  Watch* find(int fd) const;

  struct ev_loop* ev_;
  std::vector<std::unique_ptr<Watch>> watches_;  // indexed by fd
};

}  // namespace asgid::py::loop
