#include "worker/asgi/asgi_bridge.h"

#include "common/log.h"
#include "worker/asgi/embedded_module.h"

namespace asgid::py {

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
