#include "worker/loop/loop_timers.h"

#include <time.h>

#include <algorithm>
#include <cmath>

#include "worker/loop/loop_core.h"

namespace asgid::py::loop {
namespace {

// libev keeps timestamps as doubles; beyond this a timer is re-armed when it expires.
constexpr double kMaxDelay = 86400.0 * 365;

bool earlier(const TimerHandleObject* a, const TimerHandleObject* b) {
  if (a->when != b->when) return a->when < b->when;
  return a->sequence < b->sequence;
}

}  // namespace

double monotonicSeconds() {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

void TimerSet::arm(TimerHandleObject* timer) {
  Py_INCREF(timer);
  timer->sequence = next_sequence_++;
  timer->timer.data = timer;
  double delay = timer->when - monotonicSeconds();
  if (!(delay > 0)) {  // already due (NaN counts as due, as it compares false in asyncio's heap)
    timer->state = TimerState::kDue;
    due_.push_back(timer);
    return;
  }
  link(timer);
  start(timer, delay);
}

void TimerSet::start(TimerHandleObject* timer, double delay) {
  // libev measures the delay from its cached loop time; refresh it so the timer cannot fire
  // early by however long the current batch of callbacks has been running.
  ev_now_update(ev_);
  ev_timer_init(&timer->timer, &TimerSet::onExpired, std::min(delay, kMaxDelay), 0.);
  ev_timer_start(ev_, &timer->timer);
}

void TimerSet::disarm(TimerHandleObject* timer, Garbage& garbage) {
  if (timer->state != TimerState::kArmed) return;
  ev_timer_stop(ev_, &timer->timer);
  unlink(timer);
  timer->state = TimerState::kIdle;
  garbage.push_back(reinterpret_cast<PyObject*>(timer));
}

void TimerSet::onExpired(struct ev_loop* ev, ev_timer* watcher, int) noexcept {
  auto* timer = static_cast<TimerHandleObject*>(watcher->data);
  LoopCore::fromEv(ev)->timers().expire(timer);
}

void TimerSet::expire(TimerHandleObject* timer) {
  double remaining = timer->when - monotonicSeconds();
  if (remaining > 0) {  // libev's clock ran ahead of CLOCK_MONOTONIC: never fire early
    start(timer, remaining);
    return;
  }
  unlink(timer);
  timer->state = TimerState::kDue;
  due_.push_back(timer);
}

void TimerSet::collectDue(std::deque<PyObject*>& ready, Garbage& garbage) {
  if (due_.empty()) return;
  batch_.swap(due_);
  if (batch_.size() > 1) std::sort(batch_.begin(), batch_.end(), earlier);
  for (TimerHandleObject* timer : batch_) {
    timer->state = TimerState::kIdle;
    auto* object = reinterpret_cast<PyObject*>(timer);
    if (timer->base.cancelled) {
      garbage.push_back(object);
    } else {
      ready.push_back(object);
    }
  }
  batch_.clear();
}

void TimerSet::releaseAll(Garbage& garbage) {
  while (armed_ != nullptr) {
    TimerHandleObject* timer = armed_;
    ev_timer_stop(ev_, &timer->timer);
    unlink(timer);
    timer->state = TimerState::kIdle;
    garbage.push_back(reinterpret_cast<PyObject*>(timer));
  }
  for (TimerHandleObject* timer : due_) {
    timer->state = TimerState::kIdle;
    garbage.push_back(reinterpret_cast<PyObject*>(timer));
  }
  due_.clear();
}

int TimerSet::traverse(visitproc visit, void* arg) const {
  for (TimerHandleObject* timer = armed_; timer != nullptr; timer = timer->next) {
    Py_VISIT(reinterpret_cast<PyObject*>(timer));
  }
  for (TimerHandleObject* timer : due_) Py_VISIT(reinterpret_cast<PyObject*>(timer));
  return 0;
}

void TimerSet::link(TimerHandleObject* timer) {
  timer->state = TimerState::kArmed;
  timer->prev = nullptr;
  timer->next = armed_;
  if (armed_ != nullptr) armed_->prev = timer;
  armed_ = timer;
}

void TimerSet::unlink(TimerHandleObject* timer) {
  if (timer->prev != nullptr) timer->prev->next = timer->next;
  if (timer->next != nullptr) timer->next->prev = timer->prev;
  if (armed_ == timer) armed_ = timer->next;
  timer->prev = timer->next = nullptr;
}

}  // namespace asgid::py::loop
