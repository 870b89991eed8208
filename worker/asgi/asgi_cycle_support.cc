#include "worker/asgi/asgi_cycle_support.h"

#include "common/log.h"
#include "worker/asgi/asgi_names.h"

namespace asgid::py {

void settle(PyRef& future, PyObject* value, PyObject* exception) {
  if (!future) return;
  PyRef waiter = std::move(future);
  const AsgiNames& names = AsgiNames::get();
  PyRef done = PyRef::steal(PyObject_CallMethodNoArgs(waiter.get(), names.done));
  if (done && done.get() == Py_False) {
    PyRef result =
        PyRef::steal(exception != nullptr
                         ? PyObject_CallMethodOneArg(waiter.get(), names.set_exception, exception)
                         : PyObject_CallMethodOneArg(waiter.get(), names.set_result, value));
    if (result) return;
  }
  if (PyErr_Occurred()) {
    PyError error = PyError::fetch();
    log::main().error("cannot complete an ASGI wait: {}", error.what());
  }
}

bool convertHeaders(PyObject* headers, std::vector<http::Header>& out) {
  if (headers == nullptr || headers == Py_None) return true;
  PyRef sequence = PyRef::steal(
      PySequence_Fast(headers, "'headers' must be an iterable of [name, value] pairs"));
  if (!sequence) return false;
  Py_ssize_t count = PySequence_Fast_GET_SIZE(sequence.get());
  out.reserve(static_cast<size_t>(count));
  for (Py_ssize_t i = 0; i < count; ++i) {
    PyObject* item = PySequence_Fast_GET_ITEM(sequence.get(), i);
    PyRef pair = PyRef::steal(PySequence_Fast(item, "each header must be a [name, value] pair"));
    if (!pair) return false;
    if (PySequence_Fast_GET_SIZE(pair.get()) != 2) {
      PyErr_SetString(PyExc_TypeError, "each header must be a [name, value] pair");
      return false;
    }
    PyObject* name = PySequence_Fast_GET_ITEM(pair.get(), 0);
    PyObject* value = PySequence_Fast_GET_ITEM(pair.get(), 1);
    if (!PyBytes_Check(name) || !PyBytes_Check(value)) {
      PyErr_Format(PyExc_TypeError, "header names and values must be bytes, got %R", item);
      return false;
    }
    std::string_view name_view(PyBytes_AS_STRING(name), PyBytes_GET_SIZE(name));
    std::string_view value_view(PyBytes_AS_STRING(value), PyBytes_GET_SIZE(value));
    // Header injection: a CR or LF from the app must never reach the wire (RFC 9110 5.5).
    if (!http::isValidFieldName(name_view) || !http::isValidFieldValue(value_view)) {
      PyErr_Format(PyExc_RuntimeError, "invalid HTTP header %R", item);
      return false;
    }
    out.emplace_back(name_view, value_view);
  }
  return true;
}

bool chainHolds(PyObject* exception, PyObject* type) {
  constexpr int kMaxLinks = 64;
  std::vector<PyObject*> todo{exception};
  for (int visited = 0; !todo.empty() && visited < kMaxLinks; ++visited) {
    PyObject* current = todo.back();
    todo.pop_back();
    if (PyObject_TypeCheck(current, reinterpret_cast<PyTypeObject*>(type))) return true;
    if (!PyExceptionInstance_Check(current)) continue;
    for (PyObject* next : {PyException_GetCause(current), PyException_GetContext(current)}) {
      if (next != nullptr && next != Py_None) todo.push_back(next);
      Py_XDECREF(next);  // still referenced by `current`, which the caller keeps alive
    }
  }
  return false;
}

void logAppException(uint64_t connection_id, PyObject* exception, bool gone,
                     bool send_raised_disconnect) {
  bool consequence =
      gone && (send_raised_disconnect || !PyErr_GivenExceptionMatches(exception, PyExc_Exception) ||
               chainHolds(exception, PyExc_OSError));
  if (consequence) {
    log::main().debug("conn {}: app ended after the client went away: {}", connection_id,
                      describeException(exception));
  } else {
    log::main().error("conn {}: Exception in ASGI application\n{}", connection_id,
                      formatTraceback(exception));
  }
}

PyTypeObject makeCycleType(const char* name, Py_ssize_t size, destructor dealloc,
                           PyMethodDef* methods, const char* doc) {
  PyTypeObject made = {PyVarObject_HEAD_INIT(nullptr, 0)};
  made.tp_name = name;
  made.tp_basicsize = size;
  made.tp_dealloc = dealloc;
  made.tp_flags = Py_TPFLAGS_DEFAULT;
  made.tp_doc = doc;
  made.tp_methods = methods;
  return made;
}

}  // namespace asgid::py
