#include "worker/python/interpreter.h"

#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <stdexcept>

namespace asgid::py {
namespace {

// Why `venv` is no virtualenv this process can use, "" if it is one. The master checks the
// same before it forks (config::checkPaths); this is for a venv changed since.
std::string venvProblem(const std::string& venv) {
  std::string marker = venv + "/pyvenv.cfg";
  if (::access(marker.c_str(), R_OK) == 0) return "";
  if (errno != EACCES) return "no pyvenv.cfg there, not a virtualenv";
  const passwd* user = getpwuid(geteuid());
  std::string text = "permission denied: user ";
  text += user != nullptr ? user->pw_name : std::to_string(geteuid());
  return text + " cannot read " + marker;
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
    if (std::string problem = venvProblem(options.venv); !problem.empty()) {
      PyConfig_Clear(&config);
      throw std::runtime_error("--venv " + options.venv + ": " + problem);
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

// The module a ModuleNotFoundError names ("fastapi.routing"), "" for any other error.
std::string missingModule(const PyError& error) {
  PyObject* value = error.value().get();
  if (value == nullptr || !PyErr_GivenExceptionMatches(value, PyExc_ModuleNotFoundError)) {
    return "";
  }
  PyRef name = PyRef::steal(PyObject_GetAttrString(value, "name"));
  if (!name || !PyUnicode_Check(name.get())) {
    PyErr_Clear();
    return "";
  }
  const char* text = PyUnicode_AsUTF8(name.get());
  if (text == nullptr) PyErr_Clear();
  return text != nullptr ? text : "";
}

// Whether the ModuleNotFoundError `error` is about `module` itself (and not about something
// the module imports, which is the app's own error and keeps its traceback).
bool isMissing(const PyError& error, const std::string& module) {
  std::string missing = missingModule(error);
  if (missing.empty()) return false;
  // "a.b.c" is missing if "a", "a.b" or "a.b.c" is.
  return module == missing || module.rfind(missing + ".", 0) == 0;
}

// Whether the virtualenv `venv` has the top-level package or module `top` in a site-packages
// (<venv>/lib/python3.X/site-packages/<top>, <top>.py or <top>.<abi>.so).
bool venvHas(const std::filesystem::path& venv, const std::string& top) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(venv / "pyvenv.cfg", error)) return false;
  std::filesystem::directory_iterator libs(venv / "lib", error), end;
  for (; !error && libs != end; libs.increment(error)) {
    std::filesystem::path site = libs->path() / "site-packages";
    if (std::filesystem::is_directory(site / top, error) ||
        std::filesystem::is_regular_file(site / (top + ".py"), error)) {
      return true;
    }
    std::filesystem::directory_iterator entries(site, error);
    for (; !error && entries != end; entries.increment(error)) {
      std::string name = entries->path().filename().string();
      if (name.starts_with(top + ".") && name.ends_with(".so")) return true;
    }
    error.clear();
  }
  return false;
}

}  // namespace

std::string missingPackageHint(const PyError& error, const std::vector<std::string>& places) {
  std::string missing = missingModule(error);
  if (missing.empty()) return "";
  std::string top = missing.substr(0, missing.find('.'));
  for (const std::string& place : places) {
    std::filesystem::path venv = std::filesystem::path(place) / ".venv";
    if (venvHas(venv, top)) {
      return "'" + top + "' is installed in " + venv.lexically_normal().string() +
             ", which asgid does not use unless told: pass --venv " +
             venv.lexically_normal().string() + " (or activate it: asgid takes $VIRTUAL_ENV)";
    }
  }
  return "no virtualenv in use (no --venv, $VIRTUAL_ENV unset): if '" + top +
         "' is installed in one, pass --venv PATH";
}

namespace {}  // namespace

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
