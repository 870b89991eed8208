#include "worker/loop/loop_core_object.h"

#include <structmember.h>

#include <new>
#include <stdexcept>

#include "worker/loop/loop_core.h"
#include "worker/loop/loop_handle.h"
#include "worker/loop/loop_methods.h"

namespace asgid::py::loop {
namespace {

PyTypeObject* g_core_type = nullptr;

CoreObject* asCore(PyObject* self) {
  return reinterpret_cast<CoreObject*>(self);
}

// --- construction and lifetime -------------------------------------------------------------

PyObject* coreNew(PyTypeObject* type, PyObject* args, PyObject* kwargs) {
  PyObject* py_loop = nullptr;
  static const char* keywords[] = {"loop", nullptr};
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O:LoopCore", const_cast<char**>(keywords),
                                   &py_loop)) {
    return nullptr;
  }
  PyObject* self = type->tp_alloc(type, 0);
  if (self == nullptr) return nullptr;
  try {
    asCore(self)->core = new LoopCore(self, py_loop);
  } catch (const PyError& error) {
    Py_DECREF(self);
    PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(error.value().get())), error.value().get());
    return nullptr;
  } catch (const std::exception& error) {
    Py_DECREF(self);
    PyErr_SetString(PyExc_OSError, error.what());
    return nullptr;
  }
  return self;
}

int coreTraverse(PyObject* self, visitproc visit, void* arg) {
  Py_VISIT(Py_TYPE(self));
  LoopCore* core = asCore(self)->core;
  return core != nullptr ? core->traverse(visit, arg) : 0;
}

int coreClear(PyObject* self) {
  if (LoopCore* core = asCore(self)->core) core->clear();
  return 0;
}

void coreDealloc(PyObject* self) {
  PyTypeObject* type = Py_TYPE(self);
  PyObject_GC_UnTrack(self);
  if (asCore(self)->weakrefs != nullptr) PyObject_ClearWeakRefs(self);
  delete asCore(self)->core;
  asCore(self)->core = nullptr;
  type->tp_free(self);
  Py_DECREF(type);
}

// --- small methods -------------------------------------------------------------------------

PyObject* coreTime(PyObject*, PyObject*) {
  return PyFloat_FromDouble(monotonicSeconds());
}

PyObject* coreRunOnce(PyObject* self, PyObject*) {
  return asCore(self)->core->runOnce();
}

PyObject* coreWake(PyObject* self, PyObject*) {
  asCore(self)->core->wake();
  Py_RETURN_NONE;
}

PyObject* coreGetDebug(PyObject* self, PyObject*) {
  return PyBool_FromLong(asCore(self)->core->debug());
}

PyObject* coreSetDebug(PyObject* self, PyObject* flag) {
  int enabled = PyObject_IsTrue(flag);
  if (enabled < 0) return nullptr;
  asCore(self)->core->setDebug(enabled != 0);
  Py_RETURN_NONE;
}

PyObject* coreMarkClosed(PyObject* self, PyObject*) {
  asCore(self)->core->markClosed();
  Py_RETURN_NONE;
}

PyObject* coreClose(PyObject* self, PyObject*) {
  asCore(self)->core->close();
  Py_RETURN_NONE;
}

PyObject* coreReadyLen(PyObject* self, PyObject*) {
  return PyLong_FromSize_t(asCore(self)->core->readySize());
}

PyObject* coreReadyClear(PyObject* self, PyObject*) {
  asCore(self)->core->clearReady();
  Py_RETURN_NONE;
}

PyObject* coreAddCallback(PyObject* self, PyObject* handle) {
  LoopCore* core = asCore(self)->core;
  if (core->closed()) return PyErr_Format(PyExc_RuntimeError, "Event loop is closed");
  PyObject* cancelled = PyObject_GetAttrString(handle, "_cancelled");
  if (cancelled == nullptr) return nullptr;
  int is_cancelled = PyObject_IsTrue(cancelled);
  Py_DECREF(cancelled);
  if (is_cancelled < 0) return nullptr;
  if (!is_cancelled) core->pushReady(handle);
  Py_RETURN_NONE;
}

PyObject* coreGetClosed(PyObject* self, void*) {
  return PyBool_FromLong(asCore(self)->core->closed());
}

PyObject* coreGetSignalFd(PyObject* self, void*) {
  return PyLong_FromLong(asCore(self)->core->signalWakeupFd());
}

#define FASTCALL_KW(function)                                                \
  reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)(void)>(function)), \
      METH_FASTCALL | METH_KEYWORDS
#define FASTCALL(function) \
  reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)(void)>(function)), METH_FASTCALL

PyMethodDef kCoreMethods[] = {
    {"call_soon", FASTCALL_KW(callSoon), nullptr},
    {"call_soon_threadsafe", FASTCALL_KW(callSoonThreadsafe), nullptr},
    {"call_at", FASTCALL_KW(callAt), nullptr},
    {"call_later", FASTCALL_KW(callLater), nullptr},
    {"create_future", createFuture, METH_NOARGS, nullptr},
    {"time", coreTime, METH_NOARGS, nullptr},
    {"run_once", coreRunOnce, METH_NOARGS, nullptr},
    {"wake", coreWake, METH_NOARGS, nullptr},
    {"get_debug", coreGetDebug, METH_NOARGS, nullptr},
    {"_set_debug", coreSetDebug, METH_O, nullptr},
    {"mark_closed", coreMarkClosed, METH_NOARGS, nullptr},
    {"close", coreClose, METH_NOARGS, nullptr},
    {"_ready_len", coreReadyLen, METH_NOARGS, nullptr},
    {"_ready_clear", coreReadyClear, METH_NOARGS, nullptr},
    {"_add_callback", coreAddCallback, METH_O, nullptr},
    {"_add_reader", FASTCALL(addReader), nullptr},
    {"_add_writer", FASTCALL(addWriter), nullptr},
    {"_remove_reader", removeReader, METH_O, nullptr},
    {"_remove_writer", removeWriter, METH_O, nullptr},
    {"_fd_key", fdKey, METH_O, nullptr},
    {"_add_signal_handler", FASTCALL(addSignalHandler), nullptr},
    {"_remove_signal_handler", removeSignalHandler, METH_O, nullptr},
    {nullptr, nullptr, 0, nullptr},
};

#undef FASTCALL
#undef FASTCALL_KW

PyGetSetDef kCoreGetSet[] = {
    {"closed", coreGetClosed, nullptr, nullptr, nullptr},
    {"signal_wakeup_fd", coreGetSignalFd, nullptr, nullptr, nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr},
};

PyMemberDef kCoreMembers[] = {
    {"__weaklistoffset__", T_PYSSIZET, offsetof(CoreObject, weakrefs), READONLY, nullptr},
    {nullptr, 0, 0, 0, nullptr},
};

PyType_Slot kCoreSlots[] = {
    {Py_tp_new, reinterpret_cast<void*>(coreNew)},
    {Py_tp_dealloc, reinterpret_cast<void*>(coreDealloc)},
    {Py_tp_traverse, reinterpret_cast<void*>(coreTraverse)},
    {Py_tp_clear, reinterpret_cast<void*>(coreClear)},
    {Py_tp_methods, kCoreMethods},
    {Py_tp_getset, kCoreGetSet},
    {Py_tp_members, kCoreMembers},
    {0, nullptr},
};

PyType_Spec kCoreSpec = {
    "_asgid_loop.LoopCore",
    sizeof(CoreObject),
    0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    kCoreSlots,
};

}  // namespace

PyTypeObject* coreType() {
  return g_core_type;
}

int addCoreType(PyObject* module) {
  PyObject* type = PyType_FromModuleAndSpec(module, &kCoreSpec, nullptr);
  if (type == nullptr) return -1;
  if (PyModule_AddObjectRef(module, "LoopCore", type) < 0) {
    Py_DECREF(type);
    return -1;
  }
  g_core_type = reinterpret_cast<PyTypeObject*>(type);  // keeps its own reference
  return 0;
}

LoopCore* coreOf(PyObject* object) {
  if (object == nullptr || g_core_type == nullptr || !Py_IS_TYPE(object, g_core_type)) {
    return nullptr;
  }
  return asCore(object)->core;
}

}  // namespace asgid::py::loop
