// EventLoop: the C++ handle on an asgid_loop.Loop, for the worker's server code.
#include <utility>

#include "worker/loop/event_loop.h"
#include "worker/loop/loop_core.h"
#include "worker/loop/loop_core_object.h"
#include "worker/python/compat.h"
#include "worker/python/py_ref.h"

namespace asgid::py {

struct EventLoop::Impl {
  PyRef loop;           // asgid_loop.Loop
  PyRef core;           // its LoopCore: keeps ev() valid for the EventLoop's lifetime
  PyRef task_type;      // _asyncio.Task
  PyRef future_type;    // _asyncio.Future
  PyRef loop_kwnames;   // ("loop",)
  PyRef eager_kwnames;  // ("loop", "eager_start"), when compat::kEagerTaskStart
  struct ev_loop* ev = nullptr;
};

namespace {

PyRef attribute(PyObject* object, const char* name) {
  return checked(PyObject_GetAttrString(object, name));
}

PyRef callMethod(PyObject* object, const char* name, PyObject* arg = nullptr) {
  PyRef method = attribute(object, name);
  return checked(arg ? PyObject_CallOneArg(method.get(), arg) : PyObject_CallNoArgs(method.get()));
}

void setEventLoop(PyObject* loop) {
  PyRef asyncio = checked(PyImport_ImportModule("asyncio"));
  callMethod(asyncio.get(), "set_event_loop", loop);
}

}  // namespace

std::unique_ptr<EventLoop> EventLoop::create() {
  auto impl = std::make_unique<Impl>();
  PyRef module = checked(PyImport_ImportModule("asgid_loop"));
  PyRef loop_class = attribute(module.get(), "Loop");
  impl->loop = checked(PyObject_CallNoArgs(loop_class.get()));
  impl->core = attribute(impl->loop.get(), "_core");
  loop::LoopCore* core = loop::coreOf(impl->core.get());
  if (core == nullptr) {
    PyErr_SetString(PyExc_TypeError, "asgid_loop.Loop._core is not a LoopCore");
    throw PyError::fetch();
  }
  impl->ev = core->ev();
  // The C-accelerated types, called directly: no Python-level create_task/create_future frame.
  PyRef accelerated = checked(PyImport_ImportModule("_asyncio"));
  impl->task_type = attribute(accelerated.get(), "Task");
  impl->future_type = attribute(accelerated.get(), "Future");
  impl->loop_kwnames = checked(Py_BuildValue("(s)", "loop"));
  if constexpr (compat::kEagerTaskStart) {
    impl->eager_kwnames = checked(Py_BuildValue("(ss)", "loop", "eager_start"));
  }
  setEventLoop(impl->loop.get());
  return std::unique_ptr<EventLoop>(new EventLoop(std::move(impl)));
}

EventLoop::EventLoop(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

EventLoop::~EventLoop() {
  // Errors here have nowhere to go but stderr (a destructor must not throw).
  PyObject* result = PyObject_CallMethod(impl_->loop.get(), "close", nullptr);
  if (result == nullptr) PyErr_WriteUnraisable(impl_->loop.get());
  Py_XDECREF(result);
  PyRef asyncio = PyRef::steal(PyImport_ImportModule("asyncio"));
  result = asyncio ? PyObject_CallMethod(asyncio.get(), "set_event_loop", "O", Py_None) : nullptr;
  if (result == nullptr) PyErr_Clear();
  Py_XDECREF(result);
}

struct ev_loop* EventLoop::ev() const {
  return impl_->ev;
}

PyObject* EventLoop::pyLoop() const {
  return impl_->loop.get();
}

void EventLoop::runForever() {
  callMethod(impl_->loop.get(), "run_forever");
}

PyObject* EventLoop::runUntilComplete(PyObject* awaitable) {
  return callMethod(impl_->loop.get(), "run_until_complete", awaitable).release();
}

void EventLoop::stop() {
  callMethod(impl_->loop.get(), "stop");
}

PyObject* EventLoop::createTask(PyObject* coro, TaskStart start) {
  if (compat::kEagerTaskStart && start == TaskStart::kEager) {
    PyObject* args[] = {coro, impl_->loop.get(), Py_True};
    return PyObject_Vectorcall(impl_->task_type.get(), args, 1, impl_->eager_kwnames.get());
  }
  PyObject* args[] = {coro, impl_->loop.get()};
  return PyObject_Vectorcall(impl_->task_type.get(), args, 1, impl_->loop_kwnames.get());
}

PyObject* EventLoop::createFuture() {
  PyObject* args[] = {impl_->loop.get()};
  return PyObject_Vectorcall(impl_->future_type.get(), args, 0, impl_->loop_kwnames.get());
}

}  // namespace asgid::py
