// The Python side of the native handles: methods, attributes and the two heap types.
#include "worker/loop/loop_handle.h"

#include <structmember.h>

#include "worker/loop/loop_core.h"
#include "worker/loop/loop_core_object.h"
#include "worker/python/py_ref.h"

namespace asgid::py::loop {
namespace {

PyTypeObject* g_handle_type = nullptr;
PyTypeObject* g_timer_handle_type = nullptr;

LoopCore* coreOfHandle(HandleObject* handle) {
  return handle->core != nullptr ? coreOf(handle->core) : nullptr;
}

// --- Python methods ------------------------------------------------------------------------

PyObject* handleCancel(PyObject* self, PyObject*) {
  cancelHandle(reinterpret_cast<HandleObject*>(self));
  Py_RETURN_NONE;
}

PyObject* handleCancelled(PyObject* self, PyObject*) {
  return PyBool_FromLong(reinterpret_cast<HandleObject*>(self)->cancelled);
}

PyObject* handleGetContext(PyObject* self, PyObject*) {
  PyObject* context = reinterpret_cast<HandleObject*>(self)->context;
  return Py_NewRef(context != nullptr ? context : Py_None);
}

PyObject* handleRun(PyObject* self, PyObject*) {
  if (runHandle(reinterpret_cast<HandleObject*>(self)) < 0) return nullptr;
  Py_RETURN_NONE;
}

PyObject* handleRepr(PyObject* self) {
  auto* handle = reinterpret_cast<HandleObject*>(self);
  if (handle->repr != nullptr) return Py_NewRef(handle->repr);
  PyRef module = PyRef::steal(PyImport_ImportModule("asgid_loop"));
  if (!module) return nullptr;
  return PyObject_CallMethod(module.get(), "_handle_repr", "O", self);
}

PyObject* handleGetLoop(PyObject* self, void*) {
  LoopCore* core = coreOfHandle(reinterpret_cast<HandleObject*>(self));
  PyObject* loop = core != nullptr ? core->pyLoop() : nullptr;
  return Py_NewRef(loop != nullptr ? loop : Py_None);
}

int handleTraverse(PyObject* self, visitproc visit, void* arg) {
  auto* handle = reinterpret_cast<HandleObject*>(self);
  Py_VISIT(Py_TYPE(self));
  Py_VISIT(handle->callback);
  Py_VISIT(handle->args);
  Py_VISIT(handle->context);
  Py_VISIT(handle->core);
  Py_VISIT(handle->repr);
  Py_VISIT(handle->source_traceback);
  return 0;
}

int handleClear(PyObject* self) {
  auto* handle = reinterpret_cast<HandleObject*>(self);
  Py_CLEAR(handle->callback);
  Py_CLEAR(handle->args);
  Py_CLEAR(handle->context);
  Py_CLEAR(handle->core);
  Py_CLEAR(handle->repr);
  Py_CLEAR(handle->source_traceback);
  return 0;
}

void handleDealloc(PyObject* self) {
  PyTypeObject* type = Py_TYPE(self);
  PyObject_GC_UnTrack(self);
  if (reinterpret_cast<HandleObject*>(self)->weakrefs != nullptr) PyObject_ClearWeakRefs(self);
  handleClear(self);
  PyObject_GC_Del(self);
  Py_DECREF(type);
}

PyMethodDef kHandleMethods[] = {
    {"cancel", handleCancel, METH_NOARGS, nullptr},
    {"cancelled", handleCancelled, METH_NOARGS, nullptr},
    {"get_context", handleGetContext, METH_NOARGS, nullptr},
    {"_run", handleRun, METH_NOARGS, nullptr},
    {nullptr, nullptr, 0, nullptr},
};

PyMemberDef kHandleMembers[] = {
    {"_callback", T_OBJECT, offsetof(HandleObject, callback), READONLY, nullptr},
    {"_args", T_OBJECT, offsetof(HandleObject, args), READONLY, nullptr},
    {"_context", T_OBJECT, offsetof(HandleObject, context), READONLY, nullptr},
    {"_cancelled", T_BOOL, offsetof(HandleObject, cancelled), READONLY, nullptr},
    {"_repr", T_OBJECT, offsetof(HandleObject, repr), 0, nullptr},
    {"_source_traceback", T_OBJECT, offsetof(HandleObject, source_traceback), 0, nullptr},
    {"__weaklistoffset__", T_PYSSIZET, offsetof(HandleObject, weakrefs), READONLY, nullptr},
    {nullptr, 0, 0, 0, nullptr},
};

PyGetSetDef kHandleGetSet[] = {
    {"_loop", handleGetLoop, nullptr, nullptr, nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr},
};

PyType_Slot kHandleSlots[] = {
    {Py_tp_dealloc, reinterpret_cast<void*>(handleDealloc)},
    {Py_tp_traverse, reinterpret_cast<void*>(handleTraverse)},
    {Py_tp_clear, reinterpret_cast<void*>(handleClear)},
    {Py_tp_repr, reinterpret_cast<void*>(handleRepr)},
    {Py_tp_methods, kHandleMethods},
    {Py_tp_members, kHandleMembers},
    {Py_tp_getset, kHandleGetSet},
    {0, nullptr},
};

PyType_Spec kHandleSpec = {
    "_asgid_loop.Handle",
    sizeof(HandleObject),
    0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_BASETYPE |
        Py_TPFLAGS_DISALLOW_INSTANTIATION,
    kHandleSlots,
};

// --- TimerHandle ---------------------------------------------------------------------------

TimerHandleObject* asTimer(PyObject* self) {
  return reinterpret_cast<TimerHandleObject*>(self);
}

PyObject* timerWhen(PyObject* self, PyObject*) {
  return PyFloat_FromDouble(asTimer(self)->when);
}

PyObject* timerScheduled(PyObject* self, void*) {
  return PyBool_FromLong(asTimer(self)->state != TimerState::kIdle);
}

Py_hash_t timerHash(PyObject* self) {
  PyRef when = PyRef::steal(PyFloat_FromDouble(asTimer(self)->when));
  return when ? PyObject_Hash(when.get()) : -1;
}

// asyncio.TimerHandle's ordering: by when; equality also compares callback, args, cancelled.
PyObject* timerCompare(PyObject* self, PyObject* other, int op) {
  if (!isTimerHandle(other)) Py_RETURN_NOTIMPLEMENTED;
  double a = asTimer(self)->when;
  double b = asTimer(other)->when;
  if (op == Py_LT || op == Py_GT) Py_RETURN_RICHCOMPARE(a, b, op);
  int equal = a == b;
  auto* x = reinterpret_cast<HandleObject*>(self);
  auto* y = reinterpret_cast<HandleObject*>(other);
  if (equal && (x->cancelled != y->cancelled)) equal = 0;
  if (equal && x->callback != y->callback) {
    equal = PyObject_RichCompareBool(x->callback ? x->callback : Py_None,
                                     y->callback ? y->callback : Py_None, Py_EQ);
  }
  if (equal > 0 && x->args != y->args) {
    equal =
        PyObject_RichCompareBool(x->args ? x->args : Py_None, y->args ? y->args : Py_None, Py_EQ);
  }
  if (equal < 0) return nullptr;
  switch (op) {
    case Py_EQ:
      return PyBool_FromLong(equal);
    case Py_NE:
      return PyBool_FromLong(!equal);
    case Py_LE:
      return PyBool_FromLong(a < b || equal);
    case Py_GE:
      return PyBool_FromLong(a > b || equal);
  }
  Py_RETURN_NOTIMPLEMENTED;
}

PyMethodDef kTimerMethods[] = {
    {"when", timerWhen, METH_NOARGS, nullptr},
    {nullptr, nullptr, 0, nullptr},
};

PyMemberDef kTimerMembers[] = {
    {"_when", T_DOUBLE, offsetof(TimerHandleObject, when), READONLY, nullptr},
    {nullptr, 0, 0, 0, nullptr},
};

PyGetSetDef kTimerGetSet[] = {
    {"_scheduled", timerScheduled, nullptr, nullptr, nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr},
};

PyType_Slot kTimerSlots[] = {
    {Py_tp_traverse, reinterpret_cast<void*>(handleTraverse)},
    {Py_tp_clear, reinterpret_cast<void*>(handleClear)},
    {Py_tp_hash, reinterpret_cast<void*>(timerHash)},
    {Py_tp_richcompare, reinterpret_cast<void*>(timerCompare)},
    {Py_tp_methods, kTimerMethods},
    {Py_tp_members, kTimerMembers},
    {Py_tp_getset, kTimerGetSet},
    {0, nullptr},
};

PyType_Spec kTimerSpec = {
    "_asgid_loop.TimerHandle",
    sizeof(TimerHandleObject),
    0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    kTimerSlots,
};

PyTypeObject* addType(PyObject* module, PyType_Spec* spec, PyObject* base) {
  PyObject* type = PyType_FromModuleAndSpec(module, spec, base);
  if (type == nullptr) return nullptr;
  if (PyModule_AddObjectRef(module, spec->name + sizeof("_asgid_loop.") - 1, type) < 0) {
    Py_DECREF(type);
    return nullptr;
  }
  // The module keeps the type alive; this reference makes the global safe even if the
  // module is dropped from sys.modules.
  return reinterpret_cast<PyTypeObject*>(type);
}

}  // namespace

PyTypeObject* handleType() {
  return g_handle_type;
}
PyTypeObject* timerHandleType() {
  return g_timer_handle_type;
}

int addHandleTypes(PyObject* module) {
  PyTypeObject* handle = addType(module, &kHandleSpec, nullptr);
  if (handle == nullptr) return -1;
  PyTypeObject* timer = addType(module, &kTimerSpec, reinterpret_cast<PyObject*>(handle));
  if (timer == nullptr) return -1;
  g_handle_type = handle;
  g_timer_handle_type = timer;
  return 0;
}

}  // namespace asgid::py::loop
