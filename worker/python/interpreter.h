// The embedded CPython interpreter of a worker process. Created once, after fork, on the
// worker's main thread, which then holds the GIL.
//
// Python never installs signal handlers (the worker's libev loop owns signals); SIGPIPE is
// ignored by the process; stdout/stderr are unbuffered so app output reaches the logs at once;
// with a virtualenv the program name points at <venv>/bin/python so its site-packages apply.
#pragma once

#include <Python.h>

#include <string>
#include <vector>

#include "worker/python/py_ref.h"

namespace asgid::py {

struct InterpreterOptions {
  std::string venv;                      // empty: none
  std::vector<std::string> extra_paths;  // prepended to sys.path (the app dir)
  std::vector<std::string> argv;         // sys.argv
  // Called before Python initialises, to add built-in modules (PyImport_AppendInittab): the
  // event loop's (worker/loop) so that this layer does not depend on the layers above it.
  std::vector<void (*)()> register_modules;
};

class Interpreter {
 public:
  // Initialises Python (PyConfig). Throws std::runtime_error with Python's message on failure.
  explicit Interpreter(const InterpreterOptions& options);
  // Finalises Python.
  ~Interpreter();
  Interpreter(const Interpreter&) = delete;
  Interpreter& operator=(const Interpreter&) = delete;
};

// Imports "module:attr" (attr may be dotted) and returns the object; with `factory`, calls it
// and returns what it returns. Throws std::runtime_error with one line that names the missing
// module or attribute (and PyError for an exception raised by the module's own code).
PyRef importApp(const std::string& spec, bool factory);

// For an app that fails to import with ModuleNotFoundError while no virtualenv is in use: a
// hint at --venv, naming the first `places` directory whose .venv has the package ("'fastapi'
// is installed in /srv/app/.venv, ... pass --venv /srv/app/.venv"), or a general one. ""
// for any other error. Needs the GIL.
std::string missingPackageHint(const PyError& error, const std::vector<std::string>& places);

}  // namespace asgid::py
