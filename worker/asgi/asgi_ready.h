// An awaitable that is already finished: `await` on it returns its value at once, without a
// Future, a loop iteration or a task switch (am_send returns PYGEN_RETURN immediately).
#pragma once

#include <Python.h>

namespace asgid::py {

// A new Ready awaitable holding `value` (borrowed; a reference is taken). Null on error.
PyObject* newReady(PyObject* value);
// A new Ready awaitable taking over `value` (stolen). Null (and value released) on error.
PyObject* newReadyStealing(PyObject* value);

}  // namespace asgid::py
