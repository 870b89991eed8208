// The two built-in modules of asgid's event loop: `_asgid_loop` (native: Handle, TimerHandle,
// LoopCore) and `asgid_loop` (the Python half, compiled into the binary from asgid_loop.py and
// executed on first import). Both are in the interpreter's inittab, so `import asgid_loop`
// works anywhere without a file on disk.
#include "worker/loop/event_loop.h"
#include "worker/loop/loop_core_object.h"
#include "worker/loop/loop_handle.h"
#include "worker/python/py_ref.h"

extern const char kAsgidLoopPy[];  // worker/loop/asgid_loop.py, embedded by CMake

namespace asgid::py {
namespace {

int execNativeModule(PyObject* module) {
  if (loop::addHandleTypes(module) < 0) return -1;
  return loop::addCoreType(module);
}

PyModuleDef_Slot kNativeSlots[] = {
    {Py_mod_exec, reinterpret_cast<void*>(execNativeModule)},
    {0, nullptr},
};

PyModuleDef kNativeModule = {
    PyModuleDef_HEAD_INIT,
    "_asgid_loop",
    "Native core of asgid's asyncio event loop (libev).",
    0,
    nullptr,
    kNativeSlots,
    nullptr,
    nullptr,
    nullptr,
};

PyObject* initNativeModule() {
  return PyModuleDef_Init(&kNativeModule);
}

int execPythonModule(PyObject* module) {
  PyObject* globals = PyModule_GetDict(module);  // borrowed
  if (PyDict_GetItemString(globals, "__builtins__") == nullptr &&
      PyDict_SetItemString(globals, "__builtins__", PyEval_GetBuiltins()) < 0) {
    return -1;
  }
  PyRef code = PyRef::steal(Py_CompileString(kAsgidLoopPy, "<asgid>/asgid_loop.py", Py_file_input));
  if (!code) return -1;
  PyRef result = PyRef::steal(PyEval_EvalCode(code.get(), globals, globals));
  return result ? 0 : -1;
}

PyModuleDef_Slot kPythonSlots[] = {
    {Py_mod_exec, reinterpret_cast<void*>(execPythonModule)},
    {0, nullptr},
};

PyModuleDef kPythonModule = {
    PyModuleDef_HEAD_INIT,
    "asgid_loop",
    nullptr,  // the source's docstring becomes __doc__
    0,
    nullptr,
    kPythonSlots,
    nullptr,
    nullptr,
    nullptr,
};

PyObject* initPythonModule() {
  return PyModuleDef_Init(&kPythonModule);
}

}  // namespace

void registerLoopModule() {
  static bool registered = false;  // the inittab outlives Py_Finalize: register once
  if (registered) return;
  registered = true;
  PyImport_AppendInittab("_asgid_loop", &initNativeModule);
  PyImport_AppendInittab("asgid_loop", &initPythonModule);
}

}  // namespace asgid::py
