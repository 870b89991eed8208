// Native asyncio handles: `_asgid_loop.Handle` and `_asgid_loop.TimerHandle`, the objects
// call_soon/call_at/add_reader return and the ready queue holds. Same Python API as
// asyncio.Handle / asyncio.TimerHandle (cancel, cancelled, when, _run, the underscore
// attributes the standard library reads), so the stdlib code built on the loop works unchanged.
//
// Every function here requires the GIL.
#pragma once

#include <Python.h>
#include <ev.h>

#include <cstdint>

namespace asgid::py::loop {

class LoopCore;

struct HandleObject {
  PyObject_HEAD PyObject* callback;  // null once cancelled
  PyObject* args;                    // tuple; null once cancelled
  PyObject* context;                 // contextvars.Context (or any object with a run() method)
  PyObject* core;  // the LoopCore object that made it (strong); may be cleared by the GC
  PyObject* repr;  // repr kept at cancel() time in debug mode, else null
  PyObject* source_traceback;  // debug mode only, else null
  PyObject* weakrefs;
  bool cancelled;
};

enum class TimerState : uint8_t {
  kIdle,   // not scheduled (new, fired, or cancelled)
  kArmed,  // its ev_timer is running; the TimerSet owns a reference
  kDue,    // expired, waiting in the TimerSet's fired list (which owns a reference)
};

struct TimerHandleObject {
  HandleObject base;
  ev_timer timer;  // timer.data points back at this object
  double when;     // loop.time() based (CLOCK_MONOTONIC seconds)
  uint64_t sequence;
  TimerHandleObject* prev;  // TimerSet's list of armed timers
  TimerHandleObject* next;
  TimerState state;
};

// The types, created by the `_asgid_loop` module (null before it is imported).
PyTypeObject* handleType();
PyTypeObject* timerHandleType();
// Creates both types in `module`. Returns -1 with an exception set on failure.
int addHandleTypes(PyObject* module);

inline bool isHandle(PyObject* object) {
  return Py_IS_TYPE(object, handleType()) || Py_IS_TYPE(object, timerHandleType());
}
inline bool isTimerHandle(PyObject* object) {
  return Py_IS_TYPE(object, timerHandleType());
}

// A new Handle (or TimerHandle when `type` is timerHandleType()) calling
// callback(*args[0:nargs]) in `context`; a null or None context means a copy of the current
// context, as asyncio does. Returns null with an exception set on failure.
HandleObject* newHandle(PyTypeObject* type, PyObject* core, PyObject* callback,
                        PyObject* const* args, Py_ssize_t nargs, PyObject* context);

// Runs the handle's callback in its context. An exception goes to the loop's exception
// handler, as asyncio.Handle._run does; returns -1 (exception set) only for SystemExit and
// KeyboardInterrupt, or when the exception handler itself raised.
int runHandle(HandleObject* handle);

// handle.cancel(): marks it cancelled, stops its timer, drops the callback and arguments.
void cancelHandle(HandleObject* handle);

}  // namespace asgid::py::loop
