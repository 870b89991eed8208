// `_asgid_loop.LoopCore`: the Python face of LoopCore. Its methods are what asgid_loop.Loop
// binds as its own (loop.call_soon is LoopCore.call_soon), so the C Task and Future reach
// native code through a plain vectorcall.
//
// Every function here requires the GIL.
#pragma once

#include <Python.h>

struct ev_loop;

namespace asgid::py::loop {

class LoopCore;

struct CoreObject {
  PyObject_HEAD LoopCore* core;  // null only if construction failed
  PyObject* weakrefs;
};

PyTypeObject* coreType();
// Creates the LoopCore type in `module`. Returns -1 with an exception set on failure.
int addCoreType(PyObject* module);

// The LoopCore behind a LoopCore object, or null (not a LoopCore object, or not constructed).
LoopCore* coreOf(PyObject* object);

}  // namespace asgid::py::loop
