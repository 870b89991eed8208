#include "worker/asgi/embedded_module.h"

#include "common/log.h"
#include "worker/python/py_ref.h"

extern const char kAsgidRuntimePy[];
extern const char kAsgidLifespanPy[];
extern const char kAsgidLoggingPy[];

namespace asgid::py {
namespace {

PyObject* nativeLog(PyObject*, PyObject* args) {
  int level = 20;
  const char* message = nullptr;
  if (!PyArg_ParseTuple(args, "is", &level, &message)) return nullptr;
  auto& logger = log::main();
  if (level >= 40) {
    logger.error("{}", message);
  } else if (level >= 30) {
    logger.warn("{}", message);
  } else if (level >= 20) {
    logger.info("{}", message);
  } else {
    logger.debug("{}", message);
  }
  Py_RETURN_NONE;
}

log::Level levelOf(long levelno) {
  if (levelno >= 50) return log::Level::kCritical;
  if (levelno >= 40) return log::Level::kError;
  if (levelno >= 30) return log::Level::kWarning;
  if (levelno >= 20) return log::Level::kInfo;
  if (levelno >= 10) return log::Level::kDebug;
  return log::Level::kTrace;
}

// _emit(levelno, logger_name, message, exception_or_None): one Python logging record.
PyObject* nativeEmit(PyObject*, PyObject* const* args, Py_ssize_t count) {
  if (count != 4) {
    PyErr_SetString(PyExc_TypeError, "_emit() takes 4 arguments");
    return nullptr;
  }
  long levelno = PyLong_AsLong(args[0]);
  if (levelno == -1 && PyErr_Occurred()) return nullptr;
  Py_ssize_t name_size = 0;
  Py_ssize_t message_size = 0;
  Py_ssize_t exception_size = 0;
  const char* name = PyUnicode_AsUTF8AndSize(args[1], &name_size);
  if (name == nullptr) return nullptr;
  const char* message = PyUnicode_AsUTF8AndSize(args[2], &message_size);
  if (message == nullptr) return nullptr;
  const char* exception = "";
  if (args[3] != Py_None) {
    exception = PyUnicode_AsUTF8AndSize(args[3], &exception_size);
    if (exception == nullptr) return nullptr;
  }
  std::string_view logger(name, static_cast<size_t>(name_size));
  log::record(levelOf(levelno), logger.empty() ? "root" : logger,
              std::string_view(message, static_cast<size_t>(message_size)),
              std::string_view(exception, static_cast<size_t>(exception_size)));
  Py_RETURN_NONE;
}

PyMethodDef kLogDef = {"_log", nativeLog, METH_VARARGS, "Writes a line to asgid's error log."};
PyMethodDef kEmitDef = {"_emit", reinterpret_cast<PyCFunction>(reinterpret_cast<void*>(nativeEmit)),
                        METH_FASTCALL, "Writes a Python logging record to asgid's error log."};

}  // namespace

PyObject* loadEmbeddedModule(const char* name, const char* source, const char* filename) {
  PyRef module = checked(PyModule_New(name));
  PyObject* dict = PyModule_GetDict(module.get());  // borrowed
  if (PyDict_SetItemString(dict, "__builtins__", PyEval_GetBuiltins()) < 0) throw PyError::fetch();
  PyRef log_function = checked(PyCFunction_New(&kLogDef, nullptr));
  if (PyDict_SetItemString(dict, "_log", log_function.get()) < 0) throw PyError::fetch();
  PyRef emit_function = checked(PyCFunction_New(&kEmitDef, nullptr));
  if (PyDict_SetItemString(dict, "_emit", emit_function.get()) < 0) throw PyError::fetch();
  PyRef code = checked(Py_CompileString(source, filename, Py_file_input));
  checked(PyEval_EvalCode(code.get(), dict, dict));
  PyObject* modules = PyImport_GetModuleDict();  // borrowed
  if (PyDict_SetItemString(modules, name, module.get()) < 0) throw PyError::fetch();
  return module.release();
}

PyObject* runtimeModule() {
  static PyObject* module =
      loadEmbeddedModule("asgid_runtime", kAsgidRuntimePy, "<asgid>/asgid_runtime.py");
  return module;
}

PyObject* loggingModule() {
  static PyObject* module =
      loadEmbeddedModule("asgid_logging", kAsgidLoggingPy, "<asgid>/asgid_logging.py");
  return module;
}

PyObject* lifespanModule() {
  static PyObject* module =
      loadEmbeddedModule("asgid_lifespan", kAsgidLifespanPy, "<asgid>/asgid_lifespan.py");
  return module;
}

}  // namespace asgid::py
