// Principle: the ASGI bridge is the only place where HTTP and WebSocket meet Python. It
// implements the HTTP side's RequestHandler and the WebSocket side's WebSocketHandler: for each
// request it builds the scope in C++, creates the request's cycle object (whose `receive` and
// `send` are native) and runs the app in a real asyncio Task. `send` and `receive` return an
// already-finished awaitable whenever no wait is needed, and a loop Future only when the app must
// really wait (no body yet, output backpressure).
//
// Everything here runs on the worker's loop thread with the GIL held.
#pragma once

#include <Python.h>

#include <string>

#include "worker/asgi/asgi_scope.h"
#include "worker/http/exchange.h"
#include "worker/loop/event_loop.h"
#include "worker/python/py_ref.h"
#include "worker/websocket/session.h"

namespace asgid::py {

class AsgiBridge final : public http::RequestHandler, public ws::WebSocketHandler {
 public:
  // Throws PyError if the runtime cannot be loaded.
  AsgiBridge(EventLoop& loop, PyRef app, const std::string& root_path, PyRef state);
  ~AsgiBridge() override;
  AsgiBridge(const AsgiBridge&) = delete;
  AsgiBridge& operator=(const AsgiBridge&) = delete;

  void onRequest(http::Exchange& exchange) override;
  void onWebSocket(ws::WebSocketSession& session) override;
  // A Python bytes object to read a binary message into: receive() then hands it to the app
  // as it is. GIL held (the loop thread).
  ws::ExternalBuffer messageBuffer(size_t size) override;

  EventLoop& loop() { return loop_; }
  const ScopeContext& scopeContext() const { return scope_context_; }
  PyObject* clientDisconnectedType() const { return client_disconnected_.get(); }

 private:
  struct CycleHooks {
    void (*set_task)(PyObject* cycle, PyObject* task);
    void (*abandon)(PyObject* cycle);
  };
  bool runCycle(PyObject* coroutine_or_null, PyObject* cycle, uint64_t connection_id,
                const CycleHooks& hooks);

  EventLoop& loop_;
  PyRef app_;
  PyRef run_http_;
  PyRef client_disconnected_;
  ScopeContext scope_context_;
};

// Creates the request's cycle object and attaches it to `exchange`; returns the coroutine
// to run (new reference) or null with a Python exception set. Defined in asgi_http_cycle.cc.
PyObject* startHttpCycle(AsgiBridge& bridge, http::Exchange& exchange, PyObject* app,
                         PyObject* run_http, PyObject** cycle_out);
// The same for a WebSocket (asgi_websocket_cycle.cc).
PyObject* startWebSocketCycle(AsgiBridge& bridge, ws::WebSocketSession& session, PyObject* app,
                              PyObject* run_app, PyObject** cycle_out);
void setWebSocketCycleTask(PyObject* cycle, PyObject* task);
void abandonWebSocketCycle(PyObject* cycle);

// Gives the cycle its task (so a graceful-shutdown abort can cancel it), unless the app has
// already returned or raised (an eagerly started task can finish inside its creation).
void setCycleTask(PyObject* cycle, PyObject* task);
// Detaches a cycle whose task could not be started.
void abandonCycle(PyObject* cycle);

}  // namespace asgid::py
