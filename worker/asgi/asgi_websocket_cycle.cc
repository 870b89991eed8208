// One WebSocket's ASGI cycle (ASGI WebSocket spec 2.4): the native `receive` and `send`
// callables and the observer the WebSocket connection reports to. Message order is checked as
// the spec lays it out: websocket.accept, websocket.close or websocket.http.response.start
// answer the handshake; then websocket.send and websocket.close (or response body pieces); a
// violation is an error that names what was expected and what came.
#include <new>

#include "common/log.h"
#include "worker/asgi/asgi_bridge.h"
#include "worker/asgi/asgi_cycle_support.h"
#include "worker/asgi/asgi_names.h"
#include "worker/asgi/asgi_ready.h"
#include "worker/websocket/session.h"
#include "worker/websocket/ws_engine.h"

namespace asgid::py {
namespace {

enum class Phase {
  kHandshake,  // the app has not answered the handshake yet
  kDenyBody,   // websocket.http.response.start was sent: body pieces follow
  kOpen,       // accepted
  kClosed,     // the app closed, or the handshake was refused
};

struct CycleObject;

class WsCycleState final : public ws::SessionObserver {
 public:
  CycleObject* self = nullptr;
  AsgiBridge* bridge = nullptr;
  ws::WebSocketSession* session = nullptr;  // null once detached
  uint64_t connection_id = 0;
  PyRef task;
  PyRef receive_waiter;
  PyRef send_waiter;
  Phase phase = Phase::kHandshake;
  bool connect_delivered = false;
  bool disconnected = false;  // the connection is gone (or the app was told it ended)
  bool send_raised_disconnect = false;
  bool holds_self = false;
  bool finished = false;
  ws::CloseInfo close_info;  // kept when the session is detached
  ws::Message scratch;

  void onMessageReady() override;
  void onWritable() override;
  void onDisconnect(bool abort) override;

  PyObject* nextMessage();
  void detach();
};

struct CycleObject {
  PyObject_HEAD WsCycleState state;
};

WsCycleState& stateOf(PyObject* self) {
  return reinterpret_cast<CycleObject*>(self)->state;
}

PyRef keepAlive(WsCycleState& state) {
  return PyRef::borrow(reinterpret_cast<PyObject*>(state.self));
}

PyObject* typedMessage(PyObject* type) {
  PyObject* message = PyDict_New();
  if (message != nullptr && PyDict_SetItem(message, AsgiNames::get().type, type) < 0) {
    Py_CLEAR(message);
  }
  return message;
}

PyObject* disconnectMessage(const ws::CloseInfo& info) {
  const AsgiNames& names = AsgiNames::get();
  PyRef message = PyRef::steal(typedMessage(names.websocket_disconnect));
  PyRef code = PyRef::steal(PyLong_FromLong(info.code));
  PyRef reason = PyRef::steal(PyUnicode_DecodeUTF8(
      info.reason.data(), static_cast<Py_ssize_t>(info.reason.size()), "replace"));
  if (!message || !code || !reason || PyDict_SetItem(message.get(), names.code, code.get()) < 0 ||
      PyDict_SetItem(message.get(), names.reason, reason.get()) < 0) {
    return nullptr;
  }
  return message.release();
}

PyObject* receiveMessage(ws::Message& message) {
  const AsgiNames& names = AsgiNames::get();
  PyRef result = PyRef::steal(typedMessage(names.websocket_receive));
  if (!result) return nullptr;
  const auto size = static_cast<Py_ssize_t>(message.data.size());
  PyRef payload;
  if (message.external) {
    // A bytes object of AsgiBridge::messageBuffer's, filled by the engine.
    payload = PyRef::steal(static_cast<PyObject*>(message.external.take()));
  } else if (message.text) {
    // Validated as UTF-8 as it arrived (RFC 6455 8.1).
    payload = PyRef::steal(PyUnicode_DecodeUTF8(message.data.data(), size, nullptr));
  } else {
    payload = PyRef::steal(PyBytes_FromStringAndSize(message.data.data(), size));
  }
  if (!payload ||
      PyDict_SetItem(result.get(), message.text ? names.text : names.bytes, payload.get()) < 0) {
    return nullptr;
  }
  return result.release();
}

}  // namespace

// The message receive() can return now (new reference), or null: nothing yet (no exception)
// or an error (exception set).
PyObject* WsCycleState::nextMessage() {
  const AsgiNames& names = AsgiNames::get();
  if (!connect_delivered) {
    connect_delivered = true;
    return typedMessage(names.websocket_connect);
  }
  if (session != nullptr && session->takeMessage(scratch)) return receiveMessage(scratch);
  if (session != nullptr && session->ended()) close_info = session->closeInfo();
  if (session == nullptr || session->ended()) return disconnectMessage(close_info);
  return nullptr;
}

void WsCycleState::detach() {
  session = nullptr;
  if (holds_self) {
    holds_self = false;
    Py_DECREF(reinterpret_cast<PyObject*>(self));
  }
}

void WsCycleState::onMessageReady() {
  if (!receive_waiter) return;
  PyRef keep = keepAlive(*this);
  PyRef message = PyRef::steal(nextMessage());
  if (message) {
    settle(receive_waiter, message.get());
  } else if (PyErr_Occurred()) {
    PyError error = PyError::fetch();
    settle(receive_waiter, nullptr, error.value().get());
  }
}

void WsCycleState::onWritable() {
  PyRef keep = keepAlive(*this);
  settle(send_waiter, Py_None);
}

void WsCycleState::onDisconnect(bool abort) {
  PyRef keep = keepAlive(*this);
  disconnected = true;
  if (session != nullptr) close_info = session->closeInfo();
  detach();
  if (receive_waiter) {
    PyRef message = PyRef::steal(nextMessage());
    settle(receive_waiter, message.get());
  }
  if (send_waiter) {
    send_raised_disconnect = true;
    PyRef error = PyRef::steal(PyObject_CallNoArgs(bridge->clientDisconnectedType()));
    settle(send_waiter, nullptr, error.get());
  }
  if (abort && task) {
    PyRef result = PyRef::steal(PyObject_CallMethodNoArgs(task.get(), AsgiNames::get().cancel));
    if (!result) PyErr_Clear();
  }
}

namespace {

PyObject* raiseDisconnected(WsCycleState& state) {
  state.send_raised_disconnect = true;
  PyErr_SetString(state.bridge->clientDisconnectedType(), "the WebSocket is closed");
  return nullptr;
}

PyObject* raiseOrder(const char* expected, PyObject* got) {
  PyErr_Format(PyExc_RuntimeError, "Expected ASGI message %s, but got %R.", expected,
               got != nullptr ? got : Py_None);
  return nullptr;
}

// message[key] as a str (None or missing: `fallback`); false with an exception set.
bool optionalText(PyObject* message, PyObject* key, std::string& out, const char* fallback) {
  PyObject* value = PyDict_GetItemWithError(message, key);
  if (value == nullptr && PyErr_Occurred()) return false;
  if (value == nullptr || value == Py_None) {
    out = fallback;
    return true;
  }
  Py_ssize_t size = 0;
  const char* text = PyUnicode_Check(value) ? PyUnicode_AsUTF8AndSize(value, &size) : nullptr;
  if (text == nullptr) {
    if (!PyErr_Occurred()) {
      PyErr_Format(PyExc_TypeError, "'%U' must be a str, got %.100s", key, Py_TYPE(value)->tp_name);
    }
    return false;
  }
  out.assign(text, static_cast<size_t>(size));
  return true;
}

bool messageHeaders(PyObject* message, std::vector<http::Header>& headers) {
  PyObject* value = PyDict_GetItemWithError(message, AsgiNames::get().headers);
  if (value == nullptr && PyErr_Occurred()) return false;
  return convertHeaders(value, headers);
}

PyObject* sendAccept(WsCycleState& state, PyObject* message) {
  std::string subprotocol;
  std::vector<http::Header> headers;
  if (!optionalText(message, AsgiNames::get().subprotocol, subprotocol, "") ||
      !messageHeaders(message, headers)) {
    return nullptr;
  }
  if (state.session == nullptr || !state.session->accept(subprotocol, std::move(headers))) {
    return raiseDisconnected(state);
  }
  state.phase = Phase::kOpen;
  return newReady(Py_None);
}

PyObject* sendDenyStart(WsCycleState& state, PyObject* message) {
  PyObject* status = PyDict_GetItemWithError(message, AsgiNames::get().status);
  if (status == nullptr || !PyLong_Check(status)) {
    if (!PyErr_Occurred()) {
      PyErr_SetString(PyExc_TypeError, "'websocket.http.response.start' needs an int 'status'");
    }
    return nullptr;
  }
  long code = PyLong_AsLong(status);
  if (code < 200 || code > 999) {
    PyErr_Format(PyExc_ValueError, "invalid HTTP status %ld for a WebSocket denial response", code);
    return nullptr;
  }
  std::vector<http::Header> headers;
  if (!messageHeaders(message, headers)) return nullptr;
  if (state.session == nullptr) return raiseDisconnected(state);
  state.session->denyStart(static_cast<int>(code), std::move(headers));
  state.phase = Phase::kDenyBody;
  return newReady(Py_None);
}

PyObject* sendDenyBody(WsCycleState& state, PyObject* message) {
  const AsgiNames& names = AsgiNames::get();
  PyObject* body = PyDict_GetItemWithError(message, names.body);
  if (body == nullptr && PyErr_Occurred()) return nullptr;
  PyObject* more_object = PyDict_GetItemWithError(message, names.more_body);
  if (more_object == nullptr && PyErr_Occurred()) return nullptr;
  int more = more_object == nullptr ? 0 : PyObject_IsTrue(more_object);
  if (more < 0) return nullptr;
  if (body != nullptr && !PyBytes_Check(body)) {
    PyErr_Format(PyExc_TypeError, "'body' must be bytes, got %.100s", Py_TYPE(body)->tp_name);
    return nullptr;
  }
  if (state.session == nullptr) return raiseDisconnected(state);
  const char* data = body != nullptr ? PyBytes_AS_STRING(body) : "";
  size_t size = body != nullptr ? static_cast<size_t>(PyBytes_GET_SIZE(body)) : 0;
  if (state.session->denyBody(data, size, more != 0) != ws::SendStatus::kOk) {
    return raiseDisconnected(state);
  }
  if (!more) state.phase = Phase::kClosed;
  return newReady(Py_None);
}

void releaseObject(void* owner) {
  Py_DECREF(static_cast<PyObject*>(owner));
}

PyObject* sendData(WsCycleState& state, PyObject* message) {
  const AsgiNames& names = AsgiNames::get();
  PyObject* bytes = PyDict_GetItemWithError(message, names.bytes);
  if (bytes == nullptr && PyErr_Occurred()) return nullptr;
  PyObject* text = PyDict_GetItemWithError(message, names.text);
  if (text == nullptr && PyErr_Occurred()) return nullptr;
  if (bytes == Py_None) bytes = nullptr;
  if (text == Py_None) text = nullptr;
  if ((bytes == nullptr) == (text == nullptr)) {
    PyErr_SetString(PyExc_ValueError,
                    "'websocket.send' needs exactly one of 'bytes' and 'text' (not None)");
    return nullptr;
  }
  const char* data = nullptr;
  Py_ssize_t size = 0;
  PyObject* owner = text != nullptr ? text : bytes;
  if (text != nullptr) {
    if (!PyUnicode_Check(text)) {
      PyErr_Format(PyExc_TypeError, "'text' must be a str, got %.100s", Py_TYPE(text)->tp_name);
      return nullptr;
    }
    data = PyUnicode_AsUTF8AndSize(text, &size);  // cached in the str: valid while it lives
    if (data == nullptr) return nullptr;
  } else if (PyBytes_Check(bytes)) {
    data = PyBytes_AS_STRING(bytes);
    size = PyBytes_GET_SIZE(bytes);
  } else {
    PyErr_Format(PyExc_TypeError, "'bytes' must be bytes, got %.100s", Py_TYPE(bytes)->tp_name);
    return nullptr;
  }
  if (state.session == nullptr || state.session->ended()) return raiseDisconnected(state);
  Py_INCREF(owner);  // released by the session once written (zero copy for large messages)
  if (state.session->send(text != nullptr, data, static_cast<size_t>(size), releaseObject, owner) !=
      ws::SendStatus::kOk) {
    return raiseDisconnected(state);
  }
  if (state.session->writeBlocked()) {
    PyObject* future = state.bridge->loop().createFuture();
    if (future != nullptr) state.send_waiter = PyRef::borrow(future);
    return future;
  }
  return newReady(Py_None);
}

PyObject* sendClose(WsCycleState& state, PyObject* message) {
  const AsgiNames& names = AsgiNames::get();
  PyObject* code_object = PyDict_GetItemWithError(message, names.code);
  if (code_object == nullptr && PyErr_Occurred()) return nullptr;
  long code = ws::close_code::kNormal;
  if (code_object != nullptr && code_object != Py_None) {
    code = PyLong_Check(code_object) ? PyLong_AsLong(code_object) : -1;
    if (!ws::isSendableCloseCode(static_cast<int>(code))) {
      if (!PyErr_Occurred()) {
        PyErr_Format(PyExc_ValueError,
                     "invalid WebSocket close code %R (1000-1003, 1007-1014 or 3000-4999)",
                     code_object);
      }
      return nullptr;
    }
  }
  if (state.phase == Phase::kHandshake) {
    // A refused handshake is a bare 403: the reason goes nowhere, so its type does not matter
    // (FastAPI passes a list of validation errors there).
    if (state.session != nullptr) state.session->reject();
    state.phase = Phase::kClosed;
    return newReady(Py_None);
  }
  std::string reason;
  if (!optionalText(message, names.reason, reason, "")) return nullptr;
  if (state.session != nullptr) {
    state.session->close(static_cast<uint16_t>(code), reason);
  }
  state.phase = Phase::kClosed;
  return newReady(Py_None);
}

PyObject* cycleSend(PyObject* self, PyObject* message) {
  WsCycleState& state = stateOf(self);
  PyRef keep = keepAlive(state);
  if (!PyDict_Check(message)) {
    PyErr_Format(PyExc_TypeError, "ASGI messages must be dicts, got %.100s",
                 Py_TYPE(message)->tp_name);
    return nullptr;
  }
  const AsgiNames& names = AsgiNames::get();
  PyObject* type = PyDict_GetItemWithError(message, names.type);
  if (type == nullptr && PyErr_Occurred()) return nullptr;
  if (type == nullptr) type = Py_None;
  switch (state.phase) {
    case Phase::kHandshake:
      if (isName(type, names.websocket_accept)) return sendAccept(state, message);
      if (isName(type, names.websocket_close)) return sendClose(state, message);
      if (isName(type, names.websocket_http_response_start)) return sendDenyStart(state, message);
      return raiseOrder("'websocket.accept', 'websocket.close' or 'websocket.http.response.start'",
                        type);
    case Phase::kDenyBody:
      if (isName(type, names.websocket_http_response_body)) return sendDenyBody(state, message);
      return raiseOrder("'websocket.http.response.body'", type);
    case Phase::kOpen:
      if (isName(type, names.websocket_send)) return sendData(state, message);
      if (isName(type, names.websocket_close)) return sendClose(state, message);
      return raiseOrder("'websocket.send' or 'websocket.close'", type);
    case Phase::kClosed:
      break;
  }
  if (state.disconnected || (state.session != nullptr && state.session->ended())) {
    if (isName(type, names.websocket_close)) return newReady(Py_None);  // closing twice is fine
    return raiseDisconnected(state);
  }
  PyErr_Format(PyExc_RuntimeError, "Unexpected ASGI message %R sent, after the WebSocket closed.",
               type);
  return nullptr;
}

PyObject* cycleReceive(PyObject* self, PyObject*) {
  WsCycleState& state = stateOf(self);
  PyRef keep = keepAlive(state);
  if (state.receive_waiter) {
    PyRef done =
        PyRef::steal(PyObject_CallMethodNoArgs(state.receive_waiter.get(), AsgiNames::get().done));
    if (!done) return nullptr;
    if (done.get() == Py_False) {
      PyErr_SetString(PyExc_RuntimeError, "receive() called while another receive() waits");
      return nullptr;
    }
    state.receive_waiter.reset();  // the app cancelled its earlier wait
  }
  PyObject* message = state.nextMessage();
  if (message != nullptr) return newReadyStealing(message);
  if (PyErr_Occurred()) return nullptr;
  PyObject* future = state.bridge->loop().createFuture();
  if (future != nullptr) state.receive_waiter = PyRef::borrow(future);
  return future;
}

void finishCycle(WsCycleState& state, bool failed) {
  state.finished = true;
  if (state.session != nullptr) {
    ws::WebSocketSession* session = state.session;
    state.detach();
    session->finish(failed);
  }
  state.task.reset();
  state.receive_waiter.reset();
  state.send_waiter.reset();
}

PyObject* cycleAppReturned(PyObject* self, PyObject*) {
  WsCycleState& state = stateOf(self);
  PyRef keep = keepAlive(state);
  if (state.phase == Phase::kHandshake && !state.disconnected) {
    log::main().error("conn {}: ASGI callable returned without answering the WebSocket handshake",
                      state.connection_id);
  }
  finishCycle(state, false);
  Py_RETURN_NONE;
}

PyObject* cycleAppRaised(PyObject* self, PyObject* exception) {
  WsCycleState& state = stateOf(self);
  PyRef keep = keepAlive(state);
  logAppException(state.connection_id, exception,
                  state.disconnected || (state.session != nullptr && state.session->ended()),
                  state.send_raised_disconnect);
  finishCycle(state, true);
  Py_RETURN_NONE;
}

PyMethodDef kReceiveDef = {"receive", cycleReceive, METH_NOARGS, "ASGI receive()"};
PyMethodDef kSendDef = {"send", cycleSend, METH_O, "ASGI send(message)"};

PyMethodDef kCycleMethods[] = {
    {"app_returned", cycleAppReturned, METH_NOARGS, nullptr},
    {"app_raised", cycleAppRaised, METH_O, nullptr},
    {nullptr, nullptr, 0, nullptr},
};

void cycleDealloc(PyObject* self) {
  reinterpret_cast<CycleObject*>(self)->state.~WsCycleState();
  PyObject_Free(self);
}

PyTypeObject* cycleType() {
  static PyTypeObject type =
      makeCycleType("asgid.WebSocketCycle", sizeof(CycleObject), cycleDealloc, kCycleMethods,
                    "One WebSocket's ASGI cycle.");
  static bool ready = PyType_Ready(&type) == 0;
  return ready ? &type : nullptr;
}

}  // namespace

PyObject* startWebSocketCycle(AsgiBridge& bridge, ws::WebSocketSession& session, PyObject* app,
                              PyObject* run_app, PyObject** cycle_out) {
  *cycle_out = nullptr;
  PyTypeObject* type = cycleType();
  if (type == nullptr) return nullptr;
  auto* object = PyObject_New(CycleObject, type);
  if (object == nullptr) return nullptr;
  new (&object->state) WsCycleState();
  WsCycleState& state = object->state;
  PyObject* self = reinterpret_cast<PyObject*>(object);
  *cycle_out = self;
  state.self = object;
  state.bridge = &bridge;
  state.connection_id = session.info().connection_id;

  PyRef scope = PyRef::steal(
      buildWebSocketScope(session.info(), session.subprotocols(), bridge.scopeContext()));
  PyRef receive = PyRef::steal(PyCFunction_New(&kReceiveDef, self));
  PyRef send = PyRef::steal(PyCFunction_New(&kSendDef, self));
  if (!scope || !receive || !send) return nullptr;
  PyObject* args[] = {app, scope.get(), receive.get(), send.get(), self};
  PyObject* coroutine = PyObject_Vectorcall(run_app, args, 5, nullptr);
  if (coroutine == nullptr) return nullptr;
  state.session = &session;
  state.holds_self = true;
  Py_INCREF(self);
  session.attach(&state);
  return coroutine;
}

void setWebSocketCycleTask(PyObject* cycle, PyObject* task) {
  WsCycleState& state = stateOf(cycle);
  if (!state.finished) state.task = PyRef::borrow(task);
}

void abandonWebSocketCycle(PyObject* cycle) {
  WsCycleState& state = stateOf(cycle);
  PyRef keep = keepAlive(state);
  if (state.session != nullptr) state.session->attach(nullptr);
  state.detach();
}

}  // namespace asgid::py
