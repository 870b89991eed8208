#include "worker/asgi/asgi_bridge.h"

#include "common/log.h"

extern const char kAsgidRuntimePy[];

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

PyObject* loadRuntime() {
  PyRef module = checked(PyModule_New("asgid_runtime"));
  PyObject* dict = PyModule_GetDict(module.get());  // borrowed
  if (PyDict_SetItemString(dict, "__builtins__", PyEval_GetBuiltins()) < 0) throw PyError::fetch();
  PyRef log_function = checked(PyCFunction_New(&kLogDef, nullptr));
  if (PyDict_SetItemString(dict, "_log", log_function.get()) < 0) throw PyError::fetch();
  PyRef code = checked(Py_CompileString(kAsgidRuntimePy, "asgid_runtime.py", Py_file_input));
  checked(PyEval_EvalCode(code.get(), dict, dict));
  PyObject* modules = PyImport_GetModuleDict();  // borrowed
  if (PyDict_SetItemString(modules, "asgid_runtime", module.get()) < 0) throw PyError::fetch();
  return module.release();
}

}  // namespace

PyObject* runtimeModule() {
  static PyObject* module = loadRuntime();
  return module;
}

AsgiBridge::AsgiBridge(EventLoop& loop, PyRef app, const std::string& root_path, PyRef state)
    : loop_(loop), app_(std::move(app)) {
  PyObject* runtime = runtimeModule();
  run_http_ = checked(PyObject_GetAttrString(runtime, "run_http"));
  client_disconnected_ = checked(PyObject_GetAttrString(runtime, "ClientDisconnected"));
  scope_context_.root_path = checked(
      PyUnicode_FromStringAndSize(root_path.data(), static_cast<Py_ssize_t>(root_path.size())));
  scope_context_.root_path_bytes = checked(
      PyBytes_FromStringAndSize(root_path.data(), static_cast<Py_ssize_t>(root_path.size())));
  scope_context_.state = std::move(state);
}

AsgiBridge::~AsgiBridge() = default;

void AsgiBridge::onRequest(http::Exchange& exchange) {
  PyObject* cycle = nullptr;
  PyRef coroutine =
      PyRef::steal(startHttpCycle(*this, exchange, app_.get(), run_http_.get(), &cycle));
  PyRef cycle_ref = PyRef::steal(cycle);
  PyRef task;
  if (coroutine) task = PyRef::steal(loop_.createTask(coroutine.get()));
  if (!task) {
    PyError error = PyError::fetch();
    log::main().error("conn {}: cannot start the app: {}\n{}", exchange.info().connection_id,
                      error.what(), error.traceback());
    if (cycle_ref) abandonCycle(cycle_ref.get());
    exchange.respondError(500);
    return;
  }
  setCycleTask(cycle_ref.get(), task.get());
}

}  // namespace asgid::py
