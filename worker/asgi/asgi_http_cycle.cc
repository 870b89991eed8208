// One HTTP request's ASGI cycle: the native `receive` and `send` callables and the observer
// the HTTP connection reports to. Message order is checked as the ASGI HTTP spec lays it out
// (http.response.start, then http.response.body until more_body is false), and a violation is
// an error that names both messages.
#include <new>

#include "common/log.h"
#include "worker/asgi/asgi_bridge.h"
#include "worker/asgi/asgi_cycle_support.h"
#include "worker/asgi/asgi_names.h"
#include "worker/asgi/asgi_ready.h"
#include "worker/http/exchange.h"

namespace asgid::py {
namespace {

enum class ResponseState { kStart, kBody, kDone };

struct CycleObject;

class CycleState final : public http::RequestObserver {
 public:
  CycleObject* self = nullptr;
  AsgiBridge* bridge = nullptr;
  http::Exchange* exchange = nullptr;  // null once detached
  uint64_t connection_id = 0;
  PyRef task;
  PyRef receive_waiter;
  PyRef send_waiter;
  ResponseState response = ResponseState::kStart;
  bool body_done = false;  // the last http.request message was delivered
  bool disconnected = false;
  bool send_raised_disconnect = false;  // send() told the app the client is gone
  bool holds_self = false;              // a reference on self while attached to the exchange
  bool finished = false;                // the app returned or raised
  std::string scratch;

  void onBodyReady() override;
  void onWritable() override;
  void onDisconnect(bool abort) override;

  PyObject* nextMessage();
  void detach();
};

struct CycleObject {
  PyObject_HEAD CycleState state;
};

CycleState& stateOf(PyObject* self) {
  return reinterpret_cast<CycleObject*>(self)->state;
}

// A reference on the cycle for the length of a call that may detach it.
PyRef keepAlive(CycleState& state) {
  return PyRef::borrow(reinterpret_cast<PyObject*>(state.self));
}

PyObject* disconnectMessage() {
  const AsgiNames& names = AsgiNames::get();
  PyObject* message = PyDict_New();
  if (message != nullptr && PyDict_SetItem(message, names.type, names.http_disconnect) < 0) {
    Py_CLEAR(message);
  }
  return message;
}

PyObject* requestMessage(CycleState& state) {
  const AsgiNames& names = AsgiNames::get();
  bool more = state.exchange->takeBody(state.scratch);
  if (!more) state.body_done = true;
  PyRef body = state.scratch.empty()
                   ? PyRef::borrow(names.empty_bytes)
                   : PyRef::steal(PyBytes_FromStringAndSize(
                         state.scratch.data(), static_cast<Py_ssize_t>(state.scratch.size())));
  if (state.scratch.capacity() > 256 * 1024) std::string().swap(state.scratch);
  if (!body) return nullptr;
  PyObject* message = PyDict_New();
  if (message == nullptr) return nullptr;
  if (PyDict_SetItem(message, names.type, names.http_request) < 0 ||
      PyDict_SetItem(message, names.body, body.get()) < 0 ||
      PyDict_SetItem(message, names.more_body, more ? Py_True : Py_False) < 0) {
    Py_DECREF(message);
    return nullptr;
  }
  return message;
}

}  // namespace

// The message receive() can return now (new reference), or null: nothing yet (no exception)
// or an error (exception set).
PyObject* CycleState::nextMessage() {
  if (disconnected || response == ResponseState::kDone || exchange == nullptr) {
    return disconnectMessage();
  }
  if (!body_done && exchange->bodyReady()) return requestMessage(*this);
  return nullptr;
}

void CycleState::detach() {
  exchange = nullptr;
  if (holds_self) {
    holds_self = false;
    Py_DECREF(reinterpret_cast<PyObject*>(self));
  }
}

void CycleState::onBodyReady() {
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

void CycleState::onWritable() {
  PyRef keep = keepAlive(*this);
  settle(send_waiter, Py_None);
}

void CycleState::onDisconnect(bool abort) {
  PyRef keep = keepAlive(*this);
  disconnected = true;
  detach();
  PyRef message = PyRef::steal(disconnectMessage());
  settle(receive_waiter, message.get());
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

PyObject* raiseDisconnected(CycleState& state) {
  state.send_raised_disconnect = true;
  PyErr_SetString(state.bridge->clientDisconnectedType(), "the client has disconnected");
  return nullptr;
}

PyObject* raiseOrder(const char* expected, PyObject* got) {
  PyErr_Format(PyExc_RuntimeError, "Expected ASGI message '%s', but got %R.", expected,
               got != nullptr ? got : Py_None);
  return nullptr;
}

PyObject* responseStart(CycleState& state, PyObject* message) {
  const AsgiNames& names = AsgiNames::get();
  PyObject* status_object = PyDict_GetItemWithError(message, names.status);
  if (status_object == nullptr || !PyLong_Check(status_object)) {
    if (!PyErr_Occurred()) {
      PyErr_SetString(PyExc_TypeError, "'http.response.start' needs an int 'status'");
    }
    return nullptr;
  }
  long status = PyLong_AsLong(status_object);
  if (status < 200 || status > 999) {
    // A 1xx is interim (RFC 9110 15.2): as the response, the client would read the next
    // response as this one's.
    PyErr_Format(PyExc_ValueError,
                 "invalid HTTP status %ld for 'http.response.start': a final status (200-999) "
                 "is needed",
                 status);
    return nullptr;
  }
  std::vector<http::Header> headers;
  PyObject* header_object = PyDict_GetItemWithError(message, names.headers);
  if (header_object == nullptr && PyErr_Occurred()) return nullptr;
  if (!convertHeaders(header_object, headers)) return nullptr;
  if (state.disconnected || state.exchange == nullptr) return raiseDisconnected(state);
  state.exchange->startResponse(static_cast<int>(status), std::move(headers));
  state.response = ResponseState::kBody;
  return newReady(Py_None);
}

void releaseBytes(void* owner) {
  Py_DECREF(static_cast<PyObject*>(owner));
}

http::SendResult sendBytes(http::Exchange& exchange, PyObject* body, bool more, bool& ok) {
  ok = true;
  if (body == nullptr) return exchange.sendBody("", 0, more);
  if (PyBytes_Check(body)) {
    Py_INCREF(body);  // released by the exchange once written (zero copy for large bodies)
    return exchange.sendBody(PyBytes_AS_STRING(body), static_cast<size_t>(PyBytes_GET_SIZE(body)),
                             more, releaseBytes, body);
  }
  Py_buffer view;
  if (PyObject_GetBuffer(body, &view, PyBUF_SIMPLE) < 0) {
    PyErr_Clear();
    PyErr_Format(PyExc_TypeError, "'body' must be bytes, got %.100s", Py_TYPE(body)->tp_name);
    ok = false;
    return http::SendResult::kOk;
  }
  auto result =
      exchange.sendBody(static_cast<const char*>(view.buf), static_cast<size_t>(view.len), more);
  PyBuffer_Release(&view);
  return result;
}

PyObject* responseBody(CycleState& state, PyObject* message) {
  const AsgiNames& names = AsgiNames::get();
  PyObject* body = PyDict_GetItemWithError(message, names.body);
  if (body == nullptr && PyErr_Occurred()) return nullptr;
  PyObject* more_object = PyDict_GetItemWithError(message, names.more_body);
  if (more_object == nullptr && PyErr_Occurred()) return nullptr;
  int more = more_object == nullptr ? 0 : PyObject_IsTrue(more_object);
  if (more < 0) return nullptr;
  if (state.disconnected || state.exchange == nullptr) return raiseDisconnected(state);
  bool ok = true;
  auto result = sendBytes(*state.exchange, body, more != 0, ok);
  if (!ok) return nullptr;
  using http::SendResult;
  switch (result) {
    case SendResult::kOk:
      if (state.exchange->writeBlocked()) {
        PyObject* future = state.bridge->loop().createFuture();
        if (future != nullptr) state.send_waiter = PyRef::borrow(future);
        return future;
      }
      return newReady(Py_None);
    case SendResult::kCompleted: {
      state.response = ResponseState::kDone;
      state.detach();
      PyRef message = PyRef::steal(disconnectMessage());
      settle(state.receive_waiter, message.get());
      return newReady(Py_None);
    }
    case SendResult::kTooLong:
      state.response = ResponseState::kDone;
      state.detach();
      PyErr_SetString(PyExc_RuntimeError, "Response content longer than Content-Length");
      return nullptr;
    case SendResult::kClosed:
      state.disconnected = true;
      state.detach();
      return raiseDisconnected(state);
  }
  return nullptr;
}

PyObject* cycleSend(PyObject* self, PyObject* message) {
  CycleState& state = stateOf(self);
  PyRef keep = keepAlive(state);
  if (!PyDict_Check(message)) {
    PyErr_Format(PyExc_TypeError, "ASGI messages must be dicts, got %.100s",
                 Py_TYPE(message)->tp_name);
    return nullptr;
  }
  const AsgiNames& names = AsgiNames::get();
  PyObject* type = PyDict_GetItemWithError(message, names.type);
  if (type == nullptr && PyErr_Occurred()) return nullptr;
  switch (state.response) {
    case ResponseState::kStart:
      if (type == nullptr || !isName(type, names.http_response_start)) {
        return raiseOrder("http.response.start", type);
      }
      return responseStart(state, message);
    case ResponseState::kBody:
      if (type == nullptr || !isName(type, names.http_response_body)) {
        return raiseOrder("http.response.body", type);
      }
      return responseBody(state, message);
    case ResponseState::kDone:
      break;
  }
  PyErr_Format(PyExc_RuntimeError,
               "Unexpected ASGI message %R sent, after response already completed.",
               type != nullptr ? type : Py_None);
  return nullptr;
}

PyObject* cycleReceive(PyObject* self, PyObject*) {
  CycleState& state = stateOf(self);
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
  if (state.exchange != nullptr) state.exchange->wantBody();
  PyObject* future = state.bridge->loop().createFuture();
  if (future != nullptr) state.receive_waiter = PyRef::borrow(future);
  return future;
}

void finishCycle(CycleState& state, bool failed) {
  state.finished = true;
  if (state.exchange != nullptr) {
    http::Exchange* exchange = state.exchange;
    state.detach();
    exchange->finishRequest(failed);
  }
  state.task.reset();
  state.receive_waiter.reset();
  state.send_waiter.reset();
}

PyObject* cycleAppReturned(PyObject* self, PyObject*) {
  CycleState& state = stateOf(self);
  PyRef keep = keepAlive(state);
  if (state.response != ResponseState::kDone && !state.disconnected) {
    log::main().error("conn {}: ASGI callable returned without {} response", state.connection_id,
                      state.response == ResponseState::kStart ? "starting" : "completing");
  }
  finishCycle(state, false);
  Py_RETURN_NONE;
}

PyObject* cycleAppRaised(PyObject* self, PyObject* exception) {
  CycleState& state = stateOf(self);
  PyRef keep = keepAlive(state);
  logAppException(state.connection_id, exception, state.disconnected, state.send_raised_disconnect);
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
  reinterpret_cast<CycleObject*>(self)->state.~CycleState();
  PyObject_Free(self);
}

PyTypeObject* cycleType() {
  static PyTypeObject type = makeCycleType("asgid.HttpCycle", sizeof(CycleObject), cycleDealloc,
                                           kCycleMethods, "One HTTP request's ASGI cycle.");
  static bool ready = PyType_Ready(&type) == 0;
  return ready ? &type : nullptr;
}

}  // namespace

PyObject* startHttpCycle(AsgiBridge& bridge, http::Exchange& exchange, PyObject* app,
                         PyObject* run_http, PyObject** cycle_out) {
  *cycle_out = nullptr;
  PyTypeObject* type = cycleType();
  if (type == nullptr) return nullptr;
  auto* object = PyObject_New(CycleObject, type);
  if (object == nullptr) return nullptr;
  new (&object->state) CycleState();
  CycleState& state = object->state;
  PyObject* self = reinterpret_cast<PyObject*>(object);
  *cycle_out = self;
  state.self = object;
  state.bridge = &bridge;
  state.connection_id = exchange.info().connection_id;

  PyRef scope = PyRef::steal(buildHttpScope(exchange.info(), bridge.scopeContext()));
  PyRef receive = PyRef::steal(PyCFunction_New(&kReceiveDef, self));
  PyRef send = PyRef::steal(PyCFunction_New(&kSendDef, self));
  if (!scope || !receive || !send) return nullptr;
  PyObject* args[] = {app, scope.get(), receive.get(), send.get(), self};
  PyObject* coroutine = PyObject_Vectorcall(run_http, args, 5, nullptr);
  if (coroutine == nullptr) return nullptr;
  state.exchange = &exchange;
  state.holds_self = true;
  Py_INCREF(self);
  exchange.attach(&state);
  return coroutine;
}

void setCycleTask(PyObject* cycle, PyObject* task) {
  CycleState& state = stateOf(cycle);
  // An eagerly started task may have finished inside its creation: keep no reference to it.
  if (!state.finished) state.task = PyRef::borrow(task);
}

void abandonCycle(PyObject* cycle) {
  CycleState& state = stateOf(cycle);
  PyRef keep = keepAlive(state);
  state.detach();
}

}  // namespace asgid::py
