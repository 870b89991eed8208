// The loop's timers: one ev_timer embedded in each armed TimerHandle.
//
// Principle: asyncio's clock is time.monotonic() (CLOCK_MONOTONIC) and its timers never fire
// before `when`. libev schedules relative to its cached loop time, which can be stale by the
// length of the current callback batch, so the delay is computed from a fresh CLOCK_MONOTONIC
// reading after ev_now_update(), and an expiry that still comes early re-arms for the rest.
// libev invokes expired watchers in no useful order; expired timers are collected and handed to
// the ready queue sorted by (when, scheduling order), as asyncio's heap does.
//
// All functions require the GIL.
#pragma once

#include <Python.h>
#include <ev.h>

#include <cstdint>
#include <deque>
#include <vector>

#include "worker/loop/loop_handle.h"

namespace asgid::py::loop {

// References to drop once the loop's own structures are consistent again (a decref can run
// arbitrary Python code, which may call back into the loop).
using Garbage = std::vector<PyObject*>;

// loop.time(): CLOCK_MONOTONIC in seconds, the clock time.monotonic() reads.
double monotonicSeconds();

class TimerSet {
 public:
  explicit TimerSet(struct ev_loop* ev) : ev_(ev) {}
  TimerSet(const TimerSet&) = delete;
  TimerSet& operator=(const TimerSet&) = delete;

  // Schedules `timer` (state kIdle) for timer->when; the set takes a reference.
  void arm(TimerHandleObject* timer);
  // Unschedules an armed timer (no-op for other states: a due timer is dropped when collected
  // because it is cancelled). The set's reference goes to `garbage`.
  void disarm(TimerHandleObject* timer, Garbage& garbage);
  bool hasDue() const { return !due_.empty(); }
  // Moves the expired timers, earliest first, to the end of `ready` (cancelled ones to
  // `garbage`).
  void collectDue(std::deque<PyObject*>& ready, Garbage& garbage);
  // Stops everything; all references go to `garbage`.
  void releaseAll(Garbage& garbage);
  int traverse(visitproc visit, void* arg) const;

  // ev_timer callback (GIL held: it runs inside ev_run).
  static void onExpired(struct ev_loop* ev, ev_timer* watcher, int revents) noexcept;

 private:
  void start(TimerHandleObject* timer, double delay);
  void expire(TimerHandleObject* timer);
  void link(TimerHandleObject* timer);
  void unlink(TimerHandleObject* timer);

  struct ev_loop* ev_;
  TimerHandleObject* armed_ = nullptr;  // intrusive list of kArmed timers
  std::vector<TimerHandleObject*> due_;
  std::vector<TimerHandleObject*> batch_;  // collectDue's scratch space, kept for its capacity
  uint64_t next_sequence_ = 0;
};

}  // namespace asgid::py::loop
