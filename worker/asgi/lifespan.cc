#include "worker/asgi/lifespan.h"

#include "common/log.h"
#include "worker/asgi/embedded_module.h"

namespace asgid::py {

Lifespan::Lifespan(EventLoop& loop, PyRef app, bool required, PyRef state)
    : loop_(loop), app_(std::move(app)), required_(required), state_(std::move(state)) {}

bool Lifespan::startup() {
  try {
    driver_ = checked(PyObject_CallMethod(lifespanModule(), "Lifespan", "OsO", app_.get(),
                                          required_ ? "on" : "auto", state_.get()));
    PyRef startup = checked(PyObject_CallMethod(driver_.get(), "startup", nullptr));
    PyRef failure = PyRef::steal(loop_.runUntilComplete(startup.get()));
    if (failure.get() != Py_None) {
      PyRef text = checked(PyObject_Str(failure.get()));
      log::main().error("Application startup failed: {}. Exiting.", PyUnicode_AsUTF8(text.get()));
      return false;
    }
  } catch (const PyError& error) {
    log::main().error("Application startup failed:\n{}", error.traceback());
    return false;
  }
  log::main().info("Application startup complete.");
  return true;
}

void Lifespan::shutdown() {
  if (!driver_) return;
  try {
    PyRef shutdown = checked(PyObject_CallMethod(driver_.get(), "shutdown", nullptr));
    PyRef result = PyRef::steal(loop_.runUntilComplete(shutdown.get()));
    log::main().info("Application shutdown complete.");
  } catch (const PyError& error) {
    log::main().error("Application shutdown failed:\n{}", error.traceback());
  }
}

}  // namespace asgid::py
