#include "worker/asgi/embedded_module.h"

#include "common/log.h"
#include "worker/python/py_ref.h"

extern const char kAsgidRuntimePy[];
extern const char kAsgidLifespanPy[];

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

PyMethodDef kLogDef = {"_log", nativeLog, METH_VARARGS, "Writes a line to asgid's error log."};

}  // namespace

PyObject* loadEmbeddedModule(const char* name, const char* source, const char* filename) {
  PyRef module = checked(PyModule_New(name));
  PyObject* dict = PyModule_GetDict(module.get());  // borrowed
  if (PyDict_SetItemString(dict, "__builtins__", PyEval_GetBuiltins()) < 0) throw PyError::fetch();
  PyRef log_function = checked(PyCFunction_New(&kLogDef, nullptr));
  if (PyDict_SetItemString(dict, "_log", log_function.get()) < 0) throw PyError::fetch();
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

PyObject* lifespanModule() {
  static PyObject* module =
      loadEmbeddedModule("asgid_lifespan", kAsgidLifespanPy, "<asgid>/asgid_lifespan.py");
  return module;
}

}  // namespace asgid::py
