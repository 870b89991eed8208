#include "worker/asgi/asgi_ready.h"

namespace asgid::py {
namespace {

struct ReadyObject {
  PyObject_HEAD PyObject* value;
};

void readyDealloc(PyObject* self) {
  Py_XDECREF(reinterpret_cast<ReadyObject*>(self)->value);
  PyObject_Free(self);
}

PyObject* readyAwait(PyObject* self) {
  return Py_NewRef(self);
}

PySendResult readySend(PyObject* self, PyObject*, PyObject** result) {
  *result = Py_NewRef(reinterpret_cast<ReadyObject*>(self)->value);
  return PYGEN_RETURN;
}

// The iterator protocol, for callers that do not use am_send (e.g. `yield from`).
PyObject* readyNext(PyObject* self) {
  PyObject* value = reinterpret_cast<ReadyObject*>(self)->value;
  PyObject* stop = PyObject_CallOneArg(PyExc_StopIteration, value);
  if (stop != nullptr) {
    PyErr_SetObject(PyExc_StopIteration, stop);
    Py_DECREF(stop);
  }
  return nullptr;
}

PyObject* readySendMethod(PyObject* self, PyObject*) {
  return readyNext(self);
}

PyObject* readyThrow(PyObject*, PyObject* args) {
  PyObject* type = nullptr;
  PyObject* value = nullptr;
  PyObject* traceback = nullptr;
  if (!PyArg_ParseTuple(args, "O|OO", &type, &value, &traceback)) return nullptr;
  if (PyExceptionInstance_Check(type)) {
    PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(type)), type);
  } else {
    PyErr_SetObject(type, value);
  }
  return nullptr;
}

PyObject* readyClose(PyObject*, PyObject*) {
  Py_RETURN_NONE;
}

PyAsyncMethods kReadyAsync = {readyAwait, nullptr, nullptr, readySend};

PyMethodDef kReadyMethods[] = {
    {"send", readySendMethod, METH_O, nullptr},
    {"throw", readyThrow, METH_VARARGS, nullptr},
    {"close", readyClose, METH_NOARGS, nullptr},
    {nullptr, nullptr, 0, nullptr},
};

PyTypeObject* readyType() {
  static PyTypeObject type = [] {
    PyTypeObject made = {PyVarObject_HEAD_INIT(nullptr, 0)};
    made.tp_name = "asgid.Ready";
    made.tp_basicsize = sizeof(ReadyObject);
    made.tp_dealloc = readyDealloc;
    made.tp_as_async = &kReadyAsync;
    made.tp_flags = Py_TPFLAGS_DEFAULT;
    made.tp_doc = "An already finished awaitable (asgid's send/receive without a wait).";
    made.tp_iter = PyObject_SelfIter;
    made.tp_iternext = readyNext;
    made.tp_methods = kReadyMethods;
    return made;
  }();
  static bool ready = PyType_Ready(&type) == 0;
  return ready ? &type : nullptr;
}

}  // namespace

PyObject* newReadyStealing(PyObject* value) {
  PyTypeObject* type = readyType();
  if (value == nullptr || type == nullptr) {
    Py_XDECREF(value);
    return nullptr;
  }
  auto* object = PyObject_New(ReadyObject, type);
  if (object == nullptr) {
    Py_DECREF(value);
    return nullptr;
  }
  object->value = value;
  return reinterpret_cast<PyObject*>(object);
}

PyObject* newReady(PyObject* value) {
  return newReadyStealing(Py_NewRef(value));
}

}  // namespace asgid::py
