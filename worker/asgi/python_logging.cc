#include "worker/asgi/python_logging.h"

#include <Python.h>

#include "config/log_config.h"
#include "worker/asgi/embedded_module.h"
#include "worker/python/py_ref.h"

namespace asgid::py {
namespace {

// Python's numbers for --log-level (trace is uvicorn's 5).
int pythonLevel(config::LogLevel level) {
  switch (level) {
    case config::LogLevel::kTrace:
      return 5;
    case config::LogLevel::kDebug:
      return 10;
    case config::LogLevel::kInfo:
      return 20;
    case config::LogLevel::kWarning:
      return 30;
    case config::LogLevel::kError:
      return 40;
    case config::LogLevel::kCritical:
      return 50;
  }
  return 20;
}

PyRef toPython(const config::LogConfigValue& value) {
  using Kind = config::LogConfigValue::Kind;
  switch (value.kind) {
    case Kind::kNull:
      return PyRef::borrow(Py_None);
    case Kind::kBool:
      return PyRef::borrow(value.boolean ? Py_True : Py_False);
    case Kind::kInt:
      return checked(PyLong_FromLongLong(value.integer));
    case Kind::kFloat:
      return checked(PyFloat_FromDouble(value.number));
    case Kind::kString:
      return checked(PyUnicode_DecodeUTF8(value.text.data(),
                                          static_cast<Py_ssize_t>(value.text.size()), "replace"));
    case Kind::kList: {
      PyRef list = checked(PyList_New(0));
      for (const auto& item : value.items) {
        if (PyList_Append(list.get(), toPython(item).get()) < 0) throw PyError::fetch();
      }
      return list;
    }
    case Kind::kMap: {
      PyRef dict = checked(PyDict_New());
      for (const auto& [key, item] : value.entries) {
        PyRef name = checked(
            PyUnicode_DecodeUTF8(key.data(), static_cast<Py_ssize_t>(key.size()), "replace"));
        if (PyDict_SetItem(dict.get(), name.get(), toPython(item).get()) < 0) {
          throw PyError::fetch();
        }
      }
      return dict;
    }
  }
  return PyRef::borrow(Py_None);
}

}  // namespace

void installPythonLogging(const config::Settings& settings) {
  PyObject* module = loggingModule();  // borrowed
  PyRef config =
      settings.log_config_data ? toPython(*settings.log_config_data) : PyRef::borrow(Py_None);
  PyRef level = checked(PyLong_FromLong(pythonLevel(settings.log_level)));
  checked(PyObject_CallMethod(module, "install", "OO", level.get(), config.get()));
}

}  // namespace asgid::py
