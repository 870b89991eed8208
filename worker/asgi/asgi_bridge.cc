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
  // Eager start (Python 3.12+): a request that needs no wait runs to completion right here,
  // inside the connection's onRequestHead (inside the parser's callback), with a real
  // current_task(). That is safe because nothing the app can reach acts at once on the
  // connection: send() only queues bytes and schedules the flush, and moving on to the next
  // pipelined request happens in the flush pass (HttpConnection::advance), never inside this
  // call. The task may be done before setCycleTask().
  if (coroutine) {
    task = PyRef::steal(loop_.createTask(coroutine.get(), EventLoop::TaskStart::kEager));
  }
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

void AsgiBridge::onWebSocket(ws::WebSocketSession& session) {
  PyObject* cycle = nullptr;
  PyRef coroutine =
      PyRef::steal(startWebSocketCycle(*this, session, app_.get(), run_http_.get(), &cycle));
  PyRef cycle_ref = PyRef::steal(cycle);
  PyRef task;
  // Eager start, as for HTTP: the app's first step (usually receive() of websocket.connect,
  // then the accept) runs here; accept() only queues the 101.
  if (coroutine) {
    task = PyRef::steal(loop_.createTask(coroutine.get(), EventLoop::TaskStart::kEager));
  }
  if (!task) {
    PyError error = PyError::fetch();
    log::main().error("conn {}: cannot start the app: {}\n{}", session.info().connection_id,
                      error.what(), error.traceback());
    if (cycle_ref) abandonWebSocketCycle(cycle_ref.get());
    session.finish(true);
    return;
  }
  setWebSocketCycleTask(cycle_ref.get(), task.get());
}

}  // namespace asgid::py
