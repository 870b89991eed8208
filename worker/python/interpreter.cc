#include "worker/python/interpreter.h"

#include <signal.h>
#include <sys/stat.h>

#include <stdexcept>

namespace asgid::py {
namespace {

bool fileExists(const std::string& path) {
  struct stat info;
  return ::stat(path.c_str(), &info) == 0;
}

void check(PyStatus status, PyConfig& config) {
  if (!PyStatus_Exception(status)) return;
  std::string message = status.err_msg ? status.err_msg : "unknown error";
  if (status.func) message = std::string(status.func) + ": " + message;
  PyConfig_Clear(&config);
  throw std::runtime_error("cannot initialise Python: " + message);
}

void prependPaths(const std::vector<std::string>& paths) {
  PyObject* sys_path = PySys_GetObject("path");  // borrowed
  if (sys_path == nullptr) return;
  for (auto it = paths.rbegin(); it != paths.rend(); ++it) {
    PyRef entry = checked(PyUnicode_DecodeFSDefault(it->c_str()));
    if (PyList_Insert(sys_path, 0, entry.get()) < 0) throw PyError::fetch();
  }
}

}  // namespace

Interpreter::Interpreter(const InterpreterOptions& options) {
  // A write to a closed socket must be an EPIPE, never a process-killing signal.
  ::signal(SIGPIPE, SIG_IGN);
  for (auto register_module : options.register_modules) register_module();

  PyConfig config;
  PyConfig_InitPythonConfig(&config);
  config.install_signal_handlers = 0;  // the worker's libev loop owns signals
  config.buffered_stdio = 0;           // app output reaches our logs as it is written
  config.parse_argv = 0;
  config.site_import = 1;
  if (!options.venv.empty()) {
    // As mod_wsgi, uWSGI and NGINX Unit do: the program name inside the venv makes the path
    // calculation find pyvenv.cfg and use the venv's site-packages.
    std::string program = options.venv + "/bin/python";
    if (!fileExists(options.venv + "/pyvenv.cfg")) {
      PyConfig_Clear(&config);
      throw std::runtime_error("--venv " + options.venv +
                               ": no pyvenv.cfg there, not a virtualenv");
    }
    check(PyConfig_SetBytesString(&config, &config.program_name, program.c_str()), config);
  } else {
    // Else Python takes argv[0] ("asgid") and sys.executable would name our binary: code that
    // starts `sys.executable` (multiprocessing, subprocess) must get Python.
    check(PyConfig_SetBytesString(&config, &config.program_name, ASGID_PYTHON_EXECUTABLE), config);
  }
  std::vector<char*> argv;
  for (const auto& arg : options.argv) argv.push_back(const_cast<char*>(arg.c_str()));
  if (!argv.empty()) {
    check(PyConfig_SetBytesArgv(&config, static_cast<Py_ssize_t>(argv.size()), argv.data()),
          config);
  }
  check(Py_InitializeFromConfig(&config), config);
  PyConfig_Clear(&config);
  try {
    prependPaths(options.extra_paths);
  } catch (const PyError& error) {
    throw std::runtime_error(std::string("cannot set sys.path: ") + error.what());
  }
}

Interpreter::~Interpreter() {
  Py_FinalizeEx();
}

namespace {

// Whether the ModuleNotFoundError `error` is about `module` itself (and not about something
// the module imports, which is the app's own error and keeps its traceback).
bool isMissing(const PyError& error, const std::string& module) {
  PyObject* value = error.value().get();
  if (value == nullptr || !PyErr_GivenExceptionMatches(value, PyExc_ModuleNotFoundError)) {
    return false;
  }
  PyRef name = PyRef::steal(PyObject_GetAttrString(value, "name"));
  if (!name || !PyUnicode_Check(name.get())) {
    PyErr_Clear();
    return false;
  }
  std::string missing = PyUnicode_AsUTF8(name.get());
  // "a.b.c" is missing if "a", "a.b" or "a.b.c" is.
  return module == missing || module.rfind(missing + ".", 0) == 0;
}

}  // namespace

PyRef importApp(const std::string& spec, bool factory) {
  auto colon = spec.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == spec.size()) {
    throw std::runtime_error("app '" + spec + "' must be in the form \"<module>:<attribute>\"");
  }
  std::string module_name = spec.substr(0, colon);
  std::string attrs = spec.substr(colon + 1);
  PyRef object;
  try {
    object = checked(PyImport_ImportModule(module_name.c_str()));
  } catch (const PyError& error) {
    if (isMissing(error, module_name)) {
      throw std::runtime_error("could not import module \"" + module_name + "\"");
    }
    throw;
  }
  size_t start = 0;
  while (start <= attrs.size()) {
    size_t dot = attrs.find('.', start);
    std::string part =
        attrs.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    PyRef next = PyRef::steal(PyObject_GetAttrString(object.get(), part.c_str()));
    if (!next) {
      PyErr_Clear();
      throw std::runtime_error("attribute \"" + attrs + "\" not found in module \"" + module_name +
                               "\"");
    }
    object = std::move(next);
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  if (factory) {
    if (!PyCallable_Check(object.get())) {
      throw std::runtime_error("app factory \"" + spec + "\" is not callable");
    }
    object = checked(PyObject_CallNoArgs(object.get()));
  }
  return object;
}

}  // namespace asgid::py
