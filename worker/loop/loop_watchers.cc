// _add_reader/_add_writer/_remove_reader/_remove_writer, the selector-key view, and the
// native half of add_signal_handler/remove_signal_handler.
#include <fcntl.h>
#include <signal.h>

#include <cerrno>
#include <climits>

#include "worker/loop/loop_core.h"
#include "worker/loop/loop_core_object.h"
#include "worker/loop/loop_handle.h"
#include "worker/loop/loop_methods.h"

namespace asgid::py::loop {
namespace {

// A file descriptor from an int or an object with fileno(), with the checks and messages of
// selectors._fileobj_to_fd (ValueError for anything unusable). -1 with an exception set.
int fdOf(PyObject* object) {
  PyRef number;
  if (PyLong_Check(object)) {
    number = PyRef::borrow(object);
  } else {
    PyRef fileno = PyRef::steal(PyObject_CallMethod(object, "fileno", nullptr));
    if (fileno) number = PyRef::steal(PyNumber_Long(fileno.get()));
    if (!number) {
      if (!PyErr_ExceptionMatches(PyExc_AttributeError) &&
          !PyErr_ExceptionMatches(PyExc_TypeError) && !PyErr_ExceptionMatches(PyExc_ValueError)) {
        return -1;
      }
      PyErr_Clear();
      PyErr_Format(PyExc_ValueError, "Invalid file object: %R", object);
      return -1;
    }
  }
  int overflow = 0;
  long fd = PyLong_AsLongAndOverflow(number.get(), &overflow);
  if (fd == -1 && PyErr_Occurred()) return -1;
  if (overflow != 0 || fd < 0 || fd > INT_MAX) {
    PyErr_Format(PyExc_ValueError, "Invalid file descriptor: %S", number.get());
    return -1;
  }
  return static_cast<int>(fd);
}

// A signal number from a Python int (-1 with an exception set if it is not one).
int signumOf(PyObject* object) {
  long value = PyLong_AsLong(object);
  if (value == -1 && PyErr_Occurred()) return -1;
  if (value < 1 || value >= NSIG) {
    PyErr_Format(PyExc_ValueError, "invalid signal number %ld", value);
    return -1;
  }
  return static_cast<int>(value);
}

void cancelAny(PyObject* handle) {
  if (isHandle(handle)) {
    cancelHandle(reinterpret_cast<HandleObject*>(handle));
    return;
  }
  PyObject* result = PyObject_CallMethod(handle, "cancel", nullptr);
  if (result == nullptr) {
    PyErr_WriteUnraisable(handle);
  } else {
    Py_DECREF(result);
  }
}

// The selector raises at registration for a closed fd (libev would only report it later).
bool checkOpen(LoopCore* core, int fd) {
  int events;
  PyObject *reader, *writer;
  if (core->fds().lookup(fd, &events, &reader, &writer)) return true;
  if (::fcntl(fd, F_GETFD) >= 0 || errno != EBADF) return true;
  PyErr_SetFromErrno(PyExc_OSError);
  return false;
}

PyObject* addWatcher(PyObject* self, PyObject* const* args, Py_ssize_t nargs, FdEvent event) {
  if (nargs < 2) {
    PyErr_SetString(PyExc_TypeError, "missing required positional arguments: 'fd', 'callback'");
    return nullptr;
  }
  LoopCore* core = coreOf(self);
  if (core->closed()) return PyErr_Format(PyExc_RuntimeError, "Event loop is closed");
  int fd = fdOf(args[0]);
  if (fd < 0 || !checkOpen(core, fd)) return nullptr;
  HandleObject* handle = newHandle(handleType(), self, args[1], args + 2, nargs - 2, nullptr);
  if (handle == nullptr) return nullptr;
  PyRef replaced = core->fds().set(fd, event, reinterpret_cast<PyObject*>(handle));
  if (replaced) cancelAny(replaced.get());
  return reinterpret_cast<PyObject*>(handle);
}

PyObject* removeWatcher(PyObject* self, PyObject* fd_object, FdEvent event) {
  LoopCore* core = coreOf(self);
  if (core->closed()) Py_RETURN_FALSE;
  int fd = fdOf(fd_object);
  if (fd < 0) {
    // Not a file descriptor (a closed file object's fileno() is -1): not registered either.
    if (!PyErr_ExceptionMatches(PyExc_ValueError)) return nullptr;
    PyErr_Clear();
    Py_RETURN_FALSE;
  }
  PyRef removed = core->fds().remove(fd, event);
  if (!removed) Py_RETURN_FALSE;
  cancelAny(removed.get());
  Py_RETURN_TRUE;
}

}  // namespace

PyObject* addReader(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
  return addWatcher(self, args, nargs, FdEvent::kRead);
}

PyObject* addWriter(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
  return addWatcher(self, args, nargs, FdEvent::kWrite);
}

PyObject* removeReader(PyObject* self, PyObject* fd) {
  return removeWatcher(self, fd, FdEvent::kRead);
}

PyObject* removeWriter(PyObject* self, PyObject* fd) {
  return removeWatcher(self, fd, FdEvent::kWrite);
}

PyObject* fdKey(PyObject* self, PyObject* fd_object) {
  int fd = fdOf(fd_object);
  if (fd < 0) return nullptr;
  int events;
  PyObject *reader, *writer;
  if (!coreOf(self)->fds().lookup(fd, &events, &reader, &writer)) {
    PyErr_SetObject(PyExc_KeyError, fd_object);
    return nullptr;
  }
  return Py_BuildValue("(iOO)", events, reader ? reader : Py_None, writer ? writer : Py_None);
}

PyObject* addSignalHandler(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
  if (nargs < 2) {
    PyErr_SetString(PyExc_TypeError, "missing required positional arguments: 'sig', 'callback'");
    return nullptr;
  }
  int signum = signumOf(args[0]);
  if (signum < 0) return nullptr;
  LoopCore* core = coreOf(self);
  if (core->closed()) return PyErr_Format(PyExc_RuntimeError, "Event loop is closed");
  HandleObject* handle = newHandle(handleType(), self, args[1], args + 2, nargs - 2, nullptr);
  if (handle == nullptr) return nullptr;
  PyRef replaced = core->signals().set(signum, reinterpret_cast<PyObject*>(handle));
  return reinterpret_cast<PyObject*>(handle);
}

PyObject* removeSignalHandler(PyObject* self, PyObject* signum_object) {
  int signum = signumOf(signum_object);
  if (signum < 0) return nullptr;
  PyRef removed = coreOf(self)->signals().remove(signum);
  return PyBool_FromLong(removed ? 1 : 0);
}

}  // namespace asgid::py::loop
