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

// Runs the cycle's coroutine (null: making it failed, exception set) in a task; false, logged,
// if the task could not be started.
bool AsgiBridge::runCycle(PyObject* coroutine_or_null, PyObject* cycle, uint64_t connection_id,
                          const CycleHooks& hooks) {
  PyRef coroutine = PyRef::steal(coroutine_or_null);
  PyRef cycle_ref = PyRef::steal(cycle);
  PyRef task;
  // Eager start (Python 3.12+): a request that needs no wait runs to completion right here,
  // inside the connection's onRequestHead (inside the parser's callback), with a real
  // current_task(). That is safe because nothing the app can reach acts at once on the
  // connection: send() only queues bytes and schedules the flush, and moving on to the next
  // pipelined request happens in the flush pass (HttpConnection::advance), never inside this
  // call; a WebSocket's accept() only queues the 101. The task may be done before set_task.
  if (coroutine) {
    task = PyRef::steal(loop_.createTask(coroutine.get(), EventLoop::TaskStart::kEager));
  }
  if (!task) {
    PyError error = PyError::fetch();
    log::main().error("conn {}: cannot start the app: {}\n{}", connection_id, error.what(),
                      error.traceback());
    if (cycle_ref) hooks.abandon(cycle_ref.get());
    return false;
  }
  hooks.set_task(cycle_ref.get(), task.get());
  return true;
}

void AsgiBridge::onRequest(http::Exchange& exchange) {
  PyObject* cycle = nullptr;
  PyObject* coroutine = startHttpCycle(*this, exchange, app_.get(), run_http_.get(), &cycle);
  if (!runCycle(coroutine, cycle, exchange.info().connection_id, {setCycleTask, abandonCycle})) {
    exchange.respondError(500);
  }
}

void AsgiBridge::onWebSocket(ws::WebSocketSession& session) {
  PyObject* cycle = nullptr;
  PyObject* coroutine = startWebSocketCycle(*this, session, app_.get(), run_http_.get(), &cycle);
  if (!runCycle(coroutine, cycle, session.info().connection_id,
                {setWebSocketCycleTask, abandonWebSocketCycle})) {
    session.finish(true);
  }
}

namespace {
void releaseBytes(void* owner) {
  Py_DECREF(static_cast<PyObject*>(owner));
}
}  // namespace

ws::ExternalBuffer AsgiBridge::messageBuffer(size_t size) {
  // Its contents are undefined until the engine has filled it; nobody sees it before.
  PyObject* bytes = PyBytes_FromStringAndSize(nullptr, static_cast<Py_ssize_t>(size));
  if (bytes == nullptr) {
    PyErr_Clear();  // the engine falls back on its own memory (and will fail the same way)
    return {};
  }
  return ws::ExternalBuffer(PyBytes_AS_STRING(bytes), size, releaseBytes, bytes);
}

}  // namespace asgid::py
