// Creating, running and cancelling native handles; the Python types are in
// loop_handle_type.cc.
#include "worker/loop/loop_handle.h"

#include <vector>

#include "worker/loop/loop_core.h"
#include "worker/loop/loop_core_object.h"
#include "worker/python/compat.h"
#include "worker/python/py_ref.h"

namespace asgid::py::loop {
namespace {

LoopCore* coreOfHandle(HandleObject* handle) {
  return handle->core != nullptr ? coreOf(handle->core) : nullptr;
}

PyObject* const* tupleItems(PyObject* tuple) {
  return reinterpret_cast<PyTupleObject*>(tuple)->ob_item;
}

// Leaves `context` after a call; keeps the call's own exception if it raised.
PyObject* exitContext(PyObject* context, PyObject* result) {
  if (result != nullptr) {
    if (PyContext_Exit(context) == 0) return result;
    Py_DECREF(result);
    return nullptr;
  }
  PyObject* error = compat::takeRaisedException();
  if (PyContext_Exit(context) < 0) {
    Py_XDECREF(error);
    return nullptr;
  }
  compat::restoreRaisedException(error);
  return nullptr;
}

// callback(*args) inside `context`, as context.run(callback, *args).
PyObject* callInContext(PyObject* context, PyObject* callback, PyObject* args) {
  Py_ssize_t nargs = PyTuple_GET_SIZE(args);
  if (context == nullptr || context == Py_None) {
    return PyObject_Vectorcall(callback, tupleItems(args), nargs, nullptr);
  }
  if (PyContext_CheckExact(context)) {
    if (PyContext_Enter(context) < 0) return nullptr;
    return exitContext(context, PyObject_Vectorcall(callback, tupleItems(args), nargs, nullptr));
  }
  // Any other object with a run() method, as asyncio accepts.
  std::vector<PyObject*> stack{context, callback};
  stack.insert(stack.end(), tupleItems(args), tupleItems(args) + nargs);
  PyRef name = PyRef::steal(PyUnicode_FromString("run"));
  if (!name) return nullptr;
  return PyObject_VectorcallMethod(name.get(), stack.data(), stack.size(), nullptr);
}

// "Exception in callback <function source>", as asyncio words it.
PyRef errorMessage(PyObject* callback, PyObject* args) {
  PyRef helpers = PyRef::steal(PyImport_ImportModule("asyncio.format_helpers"));
  PyRef source;
  if (helpers) {
    source = PyRef::steal(
        PyObject_CallMethod(helpers.get(), "_format_callback_source", "OO", callback, args));
  }
  if (!source) {
    PyErr_Clear();
    source = PyRef::steal(PyObject_Repr(callback));
    if (!source) return PyRef();
  }
  return PyRef::steal(PyUnicode_FromFormat("Exception in callback %U", source.get()));
}

PyRef errorContext(HandleObject* handle, PyObject* callback, PyObject* args, PyObject* error) {
  PyRef message = errorMessage(callback, args);
  if (!message) return PyRef();
  PyRef context = PyRef::steal(PyDict_New());
  if (!context || PyDict_SetItemString(context.get(), "message", message.get()) < 0 ||
      PyDict_SetItemString(context.get(), "exception", error) < 0 ||
      PyDict_SetItemString(context.get(), "handle", reinterpret_cast<PyObject*>(handle)) < 0) {
    return PyRef();
  }
  PyObject* traceback = handle->source_traceback;
  if (traceback != nullptr && traceback != Py_None &&
      PyDict_SetItemString(context.get(), "source_traceback", traceback) < 0) {
    return PyRef();
  }
  return context;
}

// asyncio.Handle._run's except clause: everything but SystemExit and KeyboardInterrupt goes to
// loop.call_exception_handler().
int reportError(HandleObject* handle, PyObject* callback, PyObject* args) {
  if (PyErr_ExceptionMatches(PyExc_SystemExit) || PyErr_ExceptionMatches(PyExc_KeyboardInterrupt)) {
    return -1;
  }
  PyRef error = PyRef::steal(compat::takeRaisedException());
  LoopCore* core = coreOfHandle(handle);
  PyObject* loop = core != nullptr ? core->pyLoop() : nullptr;
  if (loop == nullptr) {
    PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(error.get())), error.get());
    PyErr_WriteUnraisable(reinterpret_cast<PyObject*>(handle));
    return 0;
  }
  PyRef context = errorContext(handle, callback, args, error.get());
  if (!context) return -1;
  PyRef result =
      PyRef::steal(PyObject_CallMethod(loop, "call_exception_handler", "O", context.get()));
  return result ? 0 : -1;
}

}  // namespace

HandleObject* newHandle(PyTypeObject* type, PyObject* core, PyObject* callback,
                        PyObject* const* args, Py_ssize_t nargs, PyObject* context) {
  PyObject* arg_tuple = PyTuple_New(nargs);
  if (arg_tuple == nullptr) return nullptr;
  for (Py_ssize_t i = 0; i < nargs; ++i) PyTuple_SET_ITEM(arg_tuple, i, Py_NewRef(args[i]));
  PyObject* owned_context =
      (context == nullptr || context == Py_None) ? PyContext_CopyCurrent() : Py_NewRef(context);
  HandleObject* handle = owned_context ? PyObject_GC_New(HandleObject, type) : nullptr;
  if (handle == nullptr) {
    Py_DECREF(arg_tuple);
    Py_XDECREF(owned_context);
    return nullptr;
  }
  handle->callback = Py_NewRef(callback);
  handle->args = arg_tuple;
  handle->context = owned_context;
  handle->core = Py_NewRef(core);
  handle->repr = nullptr;
  handle->source_traceback = nullptr;
  handle->weakrefs = nullptr;
  handle->cancelled = false;
  if (type == timerHandleType()) {
    auto* timer = reinterpret_cast<TimerHandleObject*>(handle);
    ev_init(&timer->timer, nullptr);
    timer->when = 0;
    timer->sequence = 0;
    timer->prev = timer->next = nullptr;
    timer->state = TimerState::kIdle;
  }
  PyObject_GC_Track(handle);
  return handle;
}

int runHandle(HandleObject* handle) {
  if (handle->callback == nullptr) return 0;
  // The callback may cancel its own handle, which drops these fields: hold them.
  PyRef callback = PyRef::borrow(handle->callback);
  PyRef args = PyRef::borrow(handle->args);
  PyRef context = PyRef::borrow(handle->context);
  PyObject* result = callInContext(context.get(), callback.get(), args.get());
  if (result != nullptr) {
    Py_DECREF(result);
    return 0;
  }
  return reportError(handle, callback.get(), args.get());
}

void cancelHandle(HandleObject* handle) {
  if (handle->cancelled) return;
  handle->cancelled = true;
  LoopCore* core = coreOfHandle(handle);
  if (core != nullptr && core->debug() && handle->repr == nullptr) {
    // Debug mode keeps the callback in the repr for "Executing <Handle...> took" warnings.
    handle->repr = PyObject_Repr(reinterpret_cast<PyObject*>(handle));
    if (handle->repr == nullptr) PyErr_Clear();
  }
  Garbage garbage;
  if (core != nullptr && isTimerHandle(reinterpret_cast<PyObject*>(handle))) {
    core->timers().disarm(reinterpret_cast<TimerHandleObject*>(handle), garbage);
  }
  Py_CLEAR(handle->callback);
  Py_CLEAR(handle->args);
  for (PyObject* object : garbage) Py_DECREF(object);
}

}  // namespace asgid::py::loop
