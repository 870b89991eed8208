// Principle: the one file that knows which CPython asgid is compiled against. asgid embeds
// 3.11 (Debian 12) to 3.13 (Debian 13); whatever differs between them is a constant or a small
// inline function here, so the rest of the code never tests PY_VERSION_HEX. Every function
// needs the GIL.
#pragma once

#include <Python.h>

namespace asgid::py::compat {

// From 3.12 an asyncio Task can start eagerly (`Task(coro, loop=..., eager_start=True)`, what
// asyncio.eager_task_factory uses): the coroutine's first step runs inside the constructor, with
// the task as current_task() and in the task's own context, and the task is scheduled on the
// loop only if that step suspends. 3.11 always schedules the first step.
inline constexpr bool kEagerTaskStart = PY_VERSION_HEX >= 0x030C0000;

// Takes the exception being raised (new reference, normalised, its traceback attached) and
// clears the error indicator; null if none is set. 3.12 keeps one exception object and
// deprecates the (type, value, traceback) triple that 3.11 has.
inline PyObject* takeRaisedException() {
#if PY_VERSION_HEX >= 0x030C0000
  return PyErr_GetRaisedException();
#else
  PyObject* type = nullptr;
  PyObject* value = nullptr;
  PyObject* traceback = nullptr;
  PyErr_Fetch(&type, &value, &traceback);
  PyErr_NormalizeException(&type, &value, &traceback);
  if (value != nullptr && traceback != nullptr) PyException_SetTraceback(value, traceback);
  Py_XDECREF(type);
  Py_XDECREF(traceback);
  return value;
#endif
}

// Raises `exception` again (stealing the reference), as takeRaisedException() took it; null
// clears the error indicator.
inline void restoreRaisedException(PyObject* exception) {
#if PY_VERSION_HEX >= 0x030C0000
  PyErr_SetRaisedException(exception);
#else
  if (exception == nullptr) {
    PyErr_Clear();
    return;
  }
  PyObject* type = Py_NewRef(reinterpret_cast<PyObject*>(Py_TYPE(exception)));
  PyErr_Restore(type, exception, PyException_GetTraceback(exception));
#endif
}

}  // namespace asgid::py::compat
