// asgid-pyrun [--venv DIR] script.py [args...]
//
// Runs a Python script as __main__ in asgid's embedded interpreter with asgid's event loop
// installed as asyncio's (asgid_loop.EventLoopPolicy), so asyncio.run() and
// asyncio.new_event_loop() give the native libev loop. Exits with the script's status
// (SystemExit codes honoured, 1 for an uncaught exception, 130 for KeyboardInterrupt). Used by
// tests and benchmarks.
#include <Python.h>

#include <signal.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "worker/loop/event_loop.h"
#include "worker/python/interpreter.h"
#include "worker/python/py_ref.h"

namespace {

using asgid::py::checked;
using asgid::py::PyRef;

constexpr const char* kUsage = "usage: asgid-pyrun [--venv DIR] script.py [args...]\n";

// Parses the command line into interpreter options; false on a usage error.
bool parseArguments(int argc, char** argv, asgid::py::InterpreterOptions& options) {
  int i = 1;
  while (i < argc && std::strncmp(argv[i], "--", 2) == 0) {
    if (std::strcmp(argv[i], "--venv") == 0 && i + 1 < argc) {
      options.venv = argv[i + 1];
      i += 2;
    } else {
      return false;
    }
  }
  if (i >= argc) return false;
  options.argv.assign(argv + i, argv + argc);
  // As `python script.py` does: the script's directory comes first on sys.path.
  std::string script = argv[i];
  auto slash = script.rfind('/');
  if (slash == std::string::npos) {
    options.extra_paths.push_back(".");
  } else {
    options.extra_paths.push_back(slash == 0 ? "/" : script.substr(0, slash));
  }
  return true;
}

// The exit status for a SystemExit exception object, as the python command computes it.
int exitStatus(PyObject* system_exit) {
  PyRef code = PyRef::steal(PyObject_GetAttrString(system_exit, "code"));
  if (!code || code.get() == Py_None) {
    PyErr_Clear();
    return 0;
  }
  if (PyLong_Check(code.get())) return static_cast<int>(PyLong_AsLong(code.get()));
  PyObject_Print(code.get(), stderr, Py_PRINT_RAW);
  std::fputc('\n', stderr);
  return 1;
}

// Without a venv the interpreter derives sys.executable from argv[0], i.e. the script; point
// it at the real interpreter whose library is embedded, so subprocess-based code (and
// test_asyncio) can start Python children.
void fixExecutable() {
  constexpr const char* kFix =
      "import os, sys\n"
      "_exe = os.path.join(sys.base_prefix, 'bin', 'python%d.%d' % sys.version_info[:2])\n"
      "if os.access(_exe, os.X_OK):\n"
      "    sys.executable = sys._base_executable = _exe\n";
  PyRef globals = checked(PyDict_New());
  PyDict_SetItemString(globals.get(), "__builtins__", PyEval_GetBuiltins());
  checked(PyRun_String(kFix, Py_file_input, globals.get(), globals.get()));
}

// Runs the script; returns its exit status.
int runScript(const std::string& script, bool venv) {
  if (!venv) fixExecutable();
  // Ctrl+C raises KeyboardInterrupt, as under the python command (the interpreter itself
  // installs no signal handlers).
  PyRef signal_module = checked(PyImport_ImportModule("signal"));
  PyRef sigint = checked(PyObject_GetAttrString(signal_module.get(), "SIGINT"));
  PyRef handler = checked(PyObject_GetAttrString(signal_module.get(), "default_int_handler"));
  checked(PyObject_CallMethod(signal_module.get(), "signal", "OO", sigint.get(), handler.get()));
  PyRef asgid_loop = checked(PyImport_ImportModule("asgid_loop"));
  checked(PyObject_CallMethod(asgid_loop.get(), "install", nullptr));
  PyRef runpy = checked(PyImport_ImportModule("runpy"));
  PyRef run_path = checked(PyObject_GetAttrString(runpy.get(), "run_path"));
  PyRef args = checked(Py_BuildValue("(s)", script.c_str()));
  PyRef kwargs = checked(Py_BuildValue("{ss}", "run_name", "__main__"));
  checked(PyObject_Call(run_path.get(), args.get(), kwargs.get()));
  return 0;
}

int runAndReport(const std::string& script, bool venv) {
  try {
    return runScript(script, venv);
  } catch (const asgid::py::PyError& error) {
    PyObject* value = error.value().get();
    if (value != nullptr && PyErr_GivenExceptionMatches(value, PyExc_SystemExit)) {
      return exitStatus(value);
    }
    std::fprintf(stderr, "%s\n", error.traceback().c_str());
    // As the python command: 128 + SIGINT for an uncaught KeyboardInterrupt.
    bool interrupted =
        value != nullptr && PyErr_GivenExceptionMatches(value, PyExc_KeyboardInterrupt);
    return interrupted ? 128 + SIGINT : 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  asgid::py::InterpreterOptions options;
  options.register_modules.push_back(asgid::py::registerLoopModule);
  if (!parseArguments(argc, argv, options)) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  try {
    asgid::py::Interpreter interpreter(options);
    return runAndReport(options.argv.front(), !options.venv.empty());
  } catch (const std::exception& error) {
    std::fprintf(stderr, "asgid-pyrun: %s\n", error.what());
    return 1;
  }
}
