// call_soon, call_soon_threadsafe, call_at, call_later and create_future: the per-callback
// path of every asyncio program, so no Python frame and no allocation beyond the handle.
#include <cmath>

#include "worker/loop/loop_core.h"
#include "worker/loop/loop_core_object.h"
#include "worker/loop/loop_handle.h"
#include "worker/loop/loop_methods.h"

namespace asgid::py::loop {
namespace {

LoopCore* openCore(PyObject* self) {
  LoopCore* core = coreOf(self);
  if (core->closed()) {
    PyErr_SetString(PyExc_RuntimeError, "Event loop is closed");
    return nullptr;
  }
  return core;
}

// The keyword-only `context`; any other keyword is a TypeError, as for a Python signature.
bool parseContext(const char* method, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames,
                  PyObject** context) {
  *context = nullptr;
  if (kwnames == nullptr) return true;
  for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(kwnames); ++i) {
    PyObject* name = PyTuple_GET_ITEM(kwnames, i);
    if (PyUnicode_CompareWithASCIIString(name, "context") != 0) {
      PyErr_Format(PyExc_TypeError, "%s() got an unexpected keyword argument '%U'", method, name);
      return false;
    }
    *context = args[nargs + i];
  }
  return true;
}

bool requirePositional(const char* method, Py_ssize_t nargs, Py_ssize_t needed, const char* names) {
  if (nargs >= needed) return true;
  PyErr_Format(PyExc_TypeError, "%s() missing required positional argument(s): %s", method, names);
  return false;
}

// Debug mode (loop.set_debug(True)): asyncio's thread and callback checks and the handle's
// source traceback, done by asgid_loop.Loop._asgid_debug_handle.
int debugHandle(LoopCore* core, HandleObject* handle, const char* method) {
  PyObject* loop = core->pyLoop();
  if (loop == nullptr) return 0;
  PyObject* result = PyObject_CallMethod(loop, "_asgid_debug_handle", "Os",
                                         reinterpret_cast<PyObject*>(handle), method);
  if (result == nullptr) return -1;
  Py_DECREF(result);
  return 0;
}

PyObject* scheduleSoon(PyObject* self, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames,
                       const char* method) {
  PyObject* context;
  if (!parseContext(method, args, nargs, kwnames, &context)) return nullptr;
  if (!requirePositional(method, nargs, 1, "'callback'")) return nullptr;
  LoopCore* core = openCore(self);
  if (core == nullptr) return nullptr;
  HandleObject* handle = newHandle(handleType(), self, args[0], args + 1, nargs - 1, context);
  if (handle == nullptr) return nullptr;
  if (core->debug() && debugHandle(core, handle, method) < 0) {
    Py_DECREF(handle);
    return nullptr;
  }
  core->pushReady(reinterpret_cast<PyObject*>(handle));
  return reinterpret_cast<PyObject*>(handle);
}

PyObject* scheduleAt(PyObject* self, double when, PyObject* const* args, Py_ssize_t nargs,
                     PyObject* context, const char* method) {
  LoopCore* core = openCore(self);
  if (core == nullptr) return nullptr;
  HandleObject* handle = newHandle(timerHandleType(), self, args[0], args + 1, nargs - 1, context);
  if (handle == nullptr) return nullptr;
  auto* timer = reinterpret_cast<TimerHandleObject*>(handle);
  timer->when = when;
  if (core->debug() && debugHandle(core, handle, method) < 0) {
    Py_DECREF(handle);
    return nullptr;
  }
  core->timers().arm(timer);
  return reinterpret_cast<PyObject*>(handle);
}

// A float from `value`, with asyncio's TypeError for None.
bool parseTime(PyObject* value, const char* none_message, double* out) {
  if (value == Py_None) {
    PyErr_SetString(PyExc_TypeError, none_message);
    return false;
  }
  *out = PyFloat_AsDouble(value);
  return !(*out == -1.0 && PyErr_Occurred());
}

}  // namespace

PyObject* callSoon(PyObject* self, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) {
  return scheduleSoon(self, args, nargs, kwnames, "call_soon");
}

PyObject* callSoonThreadsafe(PyObject* self, PyObject* const* args, Py_ssize_t nargs,
                             PyObject* kwnames) {
  PyObject* handle = scheduleSoon(self, args, nargs, kwnames, "call_soon_threadsafe");
  if (handle != nullptr) coreOf(self)->wake();
  return handle;
}

PyObject* callAt(PyObject* self, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) {
  PyObject* context;
  double when;
  if (!parseContext("call_at", args, nargs, kwnames, &context)) return nullptr;
  if (!requirePositional("call_at", nargs, 2, "'when' and 'callback'")) return nullptr;
  if (!parseTime(args[0], "when cannot be None", &when)) return nullptr;
  return scheduleAt(self, when, args + 1, nargs - 1, context, "call_at");
}

PyObject* callLater(PyObject* self, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) {
  PyObject* context;
  double delay;
  if (!parseContext("call_later", args, nargs, kwnames, &context)) return nullptr;
  if (!requirePositional("call_later", nargs, 2, "'delay' and 'callback'")) return nullptr;
  if (!parseTime(args[0], "delay must not be None", &delay)) return nullptr;
  return scheduleAt(self, monotonicSeconds() + delay, args + 1, nargs - 1, context, "call_later");
}

PyObject* createFuture(PyObject* self, PyObject*) {
  return coreOf(self)->newFuture();
}

}  // namespace asgid::py::loop
