#include "worker/python/py_ref.h"

#include "worker/python/compat.h"

namespace asgid::py {
namespace {

std::string utf8OrEmpty(PyObject* text) {
  if (text == nullptr) return {};
  Py_ssize_t size = 0;
  const char* data = PyUnicode_AsUTF8AndSize(text, &size);
  if (data == nullptr) {
    PyErr_Clear();
    return {};
  }
  return std::string(data, static_cast<size_t>(size));
}

}  // namespace

std::string describeException(PyObject* exception) {
  if (exception == nullptr) return "unknown error";
  std::string type = Py_TYPE(exception)->tp_name;
  PyRef text = PyRef::steal(PyObject_Str(exception));
  if (!text) {
    PyErr_Clear();
    return type;
  }
  std::string message = utf8OrEmpty(text.get());
  return message.empty() ? type : type + ": " + message;
}

std::string formatTraceback(PyObject* exception) {
  if (exception == nullptr) return {};
  PyRef module = PyRef::steal(PyImport_ImportModule("traceback"));
  PyRef lines;
  if (module) {
    lines = PyRef::steal(PyObject_CallMethod(module.get(), "format_exception", "O", exception));
  }
  if (!lines) {
    PyErr_Clear();
    return describeException(exception);
  }
  PyRef empty = PyRef::steal(PyUnicode_FromString(""));
  PyRef joined = PyRef::steal(PyUnicode_Join(empty.get(), lines.get()));
  if (!joined) {
    PyErr_Clear();
    return describeException(exception);
  }
  std::string text = utf8OrEmpty(joined.get());
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

PyError PyError::fetch() {
  PyRef owned = PyRef::steal(compat::takeRaisedException());
  std::string summary = describeException(owned.get());
  std::string trace = formatTraceback(owned.get());
  return PyError(std::move(summary), std::move(owned), std::move(trace));
}

}  // namespace asgid::py
