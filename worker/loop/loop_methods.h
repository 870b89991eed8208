// The methods of `_asgid_loop.LoopCore` beyond its own lifetime: scheduling callbacks and
// timers (loop_scheduling.cc) and watching fds and signals (loop_watchers.cc). `self` is always
// a LoopCore object; the signatures are the CPython calling conventions the method table
// names. Every function here requires the GIL.
#pragma once

#include <Python.h>

namespace asgid::py::loop {

// call_soon(callback, *args, context=None) and friends: asyncio's signatures and errors.
PyObject* callSoon(PyObject* self, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames);
PyObject* callSoonThreadsafe(PyObject* self, PyObject* const* args, Py_ssize_t nargs,
                             PyObject* kwnames);
PyObject* callAt(PyObject* self, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames);
PyObject* callLater(PyObject* self, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames);
// create_future(): asyncio.Future(loop=loop) without a Python frame.
PyObject* createFuture(PyObject* self, PyObject* unused);

// _add_reader(fd, callback, *args) -> Handle; _remove_reader(fd) -> bool (and writers): the
// semantics of BaseSelectorEventLoop's methods of the same names.
PyObject* addReader(PyObject* self, PyObject* const* args, Py_ssize_t nargs);
PyObject* addWriter(PyObject* self, PyObject* const* args, Py_ssize_t nargs);
PyObject* removeReader(PyObject* self, PyObject* fd);
PyObject* removeWriter(PyObject* self, PyObject* fd);
// _fd_key(fd) -> (events, reader, writer) for the selector stand-in; KeyError if not watched.
PyObject* fdKey(PyObject* self, PyObject* fd);
// _add_signal_handler(signum, callback, *args) -> Handle; _remove_signal_handler(signum) ->
// bool. Argument validation (and the main-thread rule) is asgid_loop.Loop's.
PyObject* addSignalHandler(PyObject* self, PyObject* const* args, Py_ssize_t nargs);
PyObject* removeSignalHandler(PyObject* self, PyObject* signum);

}  // namespace asgid::py::loop
