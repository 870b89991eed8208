// What the HTTP and WebSocket cycles share: completing the app's waits, reading headers from
// ASGI messages, and telling a disconnect's consequences from real errors. GIL held.
#pragma once

#include <Python.h>

#include <vector>

#include "worker/http/response_head.h"
#include "worker/python/py_ref.h"

namespace asgid::py {

// Completes `future` with `value` (or raises `exception` into it) unless the app already
// cancelled it, and clears `future`. Errors are logged: they cannot be raised into anybody.
void settle(PyRef& future, PyObject* value, PyObject* exception = nullptr);

// Reads an ASGI `headers` value (an iterable of [bytes, bytes] pairs, or None) into `out`,
// refusing names and values that could split a response. False with an exception set.
bool convertHeaders(PyObject* headers, std::vector<http::Header>& out);

// Whether `exception`, its __cause__ or its __context__ (transitively) is an instance of
// `type`. Chains can be long or even cyclic: the walk is bounded.
bool chainHolds(PyObject* exception, PyObject* type);

}  // namespace asgid::py
