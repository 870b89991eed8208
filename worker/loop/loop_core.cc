#include "worker/loop/loop_core.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

namespace asgid::py::loop {
namespace {

struct ev_loop* newEvLoop() {
  // Never the default loop: its SIGCHLD watcher would reap the children of asyncio's
  // subprocess support and steal their exit statuses.
  struct ev_loop* ev = ev_loop_new(EVFLAG_AUTO);
  if (ev == nullptr) throw std::runtime_error("libev: cannot create an event loop");
  return ev;
}

void closeFd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

}  // namespace

LoopCore::LoopCore(PyObject* self, PyObject* py_loop)
    : self_(self),
      py_loop_(PyRef::borrow(py_loop)),
      stopping_name_(checked(PyUnicode_InternFromString("_stopping"))),
      run_debug_name_(checked(PyUnicode_InternFromString("_asgid_run_debug"))),
      ev_(newEvLoop()),
      timers_(ev_),
      fds_(ev_),
      signals_(ev_) {
  ev_set_userdata(ev_, this);
  ev_set_loop_release_cb(ev_, &LoopCore::onRelease, &LoopCore::onAcquire);
  // The wake-up watcher stays active (and referenced) so that a poll with nothing else to
  // wait for blocks, as asyncio's selector does on its self-pipe, instead of returning.
  ev_async_init(&wake_, &LoopCore::onWake);
  ev_async_start(ev_, &wake_);
  try {
    openSignalPipe();
  } catch (...) {
    ev_async_stop(ev_, &wake_);
    ev_loop_destroy(ev_);
    throw;
  }
}

LoopCore::~LoopCore() {
  close();
  ev_loop_destroy(ev_);
}

void LoopCore::openSignalPipe() {
  if (::pipe2(signal_pipe_, O_NONBLOCK | O_CLOEXEC) != 0) {
    throw std::runtime_error("cannot create the loop's signal wake-up pipe");
  }
  ev_io_init(&signal_wakeup_, &LoopCore::onSignalWakeup, signal_pipe_[0], EV_READ);
  ev_io_start(ev_, &signal_wakeup_);
  ev_unref(ev_);  // it must not keep an otherwise idle loop alive
}

void LoopCore::close() {
  closed_ = true;
  if (torn_down_) return;
  torn_down_ = true;
  Garbage garbage;
  timers_.releaseAll(garbage);
  fds_.releaseAll(garbage);
  signals_.releaseAll(garbage);
  garbage.insert(garbage.end(), ready_.begin(), ready_.end());
  ready_.clear();
  garbage.insert(garbage.end(), deferred_.begin(), deferred_.end());
  deferred_.clear();
  ev_async_stop(ev_, &wake_);
  ev_ref(ev_);
  ev_io_stop(ev_, &signal_wakeup_);
  closeFd(signal_pipe_[0]);
  closeFd(signal_pipe_[1]);
  for (PyObject* object : garbage) Py_DECREF(object);
}

void LoopCore::clear() {
  close();
  py_loop_.reset();
}

void LoopCore::pushReady(PyObject* handle) {
  Py_INCREF(handle);
  ready_.push_back(handle);
}

void LoopCore::clearReady() {
  std::deque<PyObject*> dropped;
  dropped.swap(ready_);
  for (PyObject* handle : dropped) Py_DECREF(handle);
}

void LoopCore::wake() {
  if (!torn_down_) ev_async_send(ev_, &wake_);
}

PyObject* LoopCore::newFuture() {
  if (!py_loop_) return PyErr_Format(PyExc_RuntimeError, "Event loop is closed");
  if (!future_type_) {
    PyRef futures = PyRef::steal(PyImport_ImportModule("asyncio.futures"));
    if (!futures) return nullptr;
    PyRef type = PyRef::steal(PyObject_GetAttrString(futures.get(), "Future"));
    PyRef kwnames = PyRef::steal(Py_BuildValue("(s)", "loop"));
    if (!type || !kwnames) return nullptr;
    future_type_ = std::move(type);
    loop_kwnames_ = std::move(kwnames);
  }
  PyObject* args[] = {py_loop_.get()};
  return PyObject_Vectorcall(future_type_.get(), args, 0, loop_kwnames_.get());
}

PyObject* LoopCore::runOnce() {
  if (closed_) {
    PyErr_SetString(PyExc_RuntimeError, "Event loop is closed");
    return nullptr;
  }
  int is_stopping = stopping();
  if (is_stopping < 0) return nullptr;
  poll(is_stopping || !ready_.empty() || timers_.hasDue());
  Garbage garbage;
  timers_.collectDue(ready_, garbage);
  for (PyObject* object : garbage) Py_DECREF(object);
  releaseDeferred();
  // A Python-level signal handler that interrupted the poll runs now (KeyboardInterrupt
  // propagates out of run_forever, as it does out of the selector's select()).
  if (PyErr_CheckSignals() < 0) return nullptr;
  if (runReady() < 0) return nullptr;
  Py_RETURN_NONE;
}

int LoopCore::stopping() {
  if (!py_loop_) return 1;
  PyObject* value = PyObject_GetAttr(py_loop_.get(), stopping_name_.get());
  if (value == nullptr) return -1;
  int result = PyObject_IsTrue(value);
  Py_DECREF(value);
  return result;
}

void LoopCore::poll(bool nowait) {
  nowait_ = nowait;
  ev_run(ev_, nowait ? EVRUN_NOWAIT : EVRUN_ONCE);
  nowait_ = false;
  // A C++ watcher callback that left an exception set must not make an unrelated call fail.
  if (PyErr_Occurred()) PyErr_WriteUnraisable(self_);
}

void LoopCore::releaseDeferred() {
  while (!deferred_.empty()) {
    Garbage batch;
    batch.swap(deferred_);
    for (PyObject* object : batch) Py_DECREF(object);
  }
}

int LoopCore::runReady() {
  // Exactly the handles ready now: those they schedule wait for the next poll.
  size_t count = ready_.size();
  for (size_t i = 0; i < count && !ready_.empty(); ++i) {
    PyRef handle = PyRef::steal(ready_.front());
    ready_.pop_front();
    if (runOne(handle.get()) < 0) return -1;
  }
  return 0;
}

int LoopCore::runOne(PyObject* handle) {
  if (isHandle(handle) && !debug_) {
    auto* native = reinterpret_cast<HandleObject*>(handle);
    return native->cancelled ? 0 : runHandle(native);
  }
  PyRef cancelled = PyRef::steal(PyObject_GetAttrString(handle, "_cancelled"));
  if (!cancelled) return -1;
  int is_cancelled = PyObject_IsTrue(cancelled.get());
  if (is_cancelled != 0) return is_cancelled < 0 ? -1 : 0;
  PyRef result;
  if (debug_ && py_loop_) {
    // Debug mode: asyncio's slow-callback warning and loop._current_handle, in Python.
    result = PyRef::steal(PyObject_CallMethodOneArg(py_loop_.get(), run_debug_name_.get(), handle));
  } else {
    result = PyRef::steal(PyObject_CallMethod(handle, "_run", nullptr));
  }
  return result ? 0 : -1;
}

int LoopCore::traverse(visitproc visit, void* arg) const {
  Py_VISIT(py_loop_.get());
  Py_VISIT(future_type_.get());
  for (PyObject* handle : ready_) Py_VISIT(handle);
  for (PyObject* object : deferred_) Py_VISIT(object);
  if (int rc = timers_.traverse(visit, arg)) return rc;
  if (int rc = fds_.traverse(visit, arg)) return rc;
  return signals_.traverse(visit, arg);
}

// The GIL is released exactly around the kernel wait, so executor threads run while the loop
// sleeps and every watcher callback runs with the GIL held. A non-blocking poll keeps it.
void LoopCore::onRelease(struct ev_loop* ev) noexcept {
  LoopCore* core = fromEv(ev);
  if (!core->nowait_) core->released_ = PyEval_SaveThread();
}

void LoopCore::onAcquire(struct ev_loop* ev) noexcept {
  LoopCore* core = fromEv(ev);
  if (core->released_ != nullptr) {
    PyEval_RestoreThread(core->released_);
    core->released_ = nullptr;
  }
}

void LoopCore::onWake(struct ev_loop*, ev_async*, int) noexcept {
  // Nothing to do: call_soon_threadsafe already put its handle on the ready queue.
}

void LoopCore::onSignalWakeup(struct ev_loop* ev, ev_io*, int) noexcept {
  LoopCore* core = fromEv(ev);
  char buffer[256];
  while (::read(core->signal_pipe_[0], buffer, sizeof buffer) > 0) {
  }
  // runOnce calls PyErr_CheckSignals right after the poll.
}

}  // namespace asgid::py::loop
