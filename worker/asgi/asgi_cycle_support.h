// What the HTTP and WebSocket cycles share: completing the app's waits, reading headers from
// ASGI messages, and telling a disconnect's consequences from real errors. GIL held.
#pragma once

#include <Python.h>

#include <cstdint>
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

// Logs how an app's task ended in an exception. Once the peer is gone (`gone`), what the app
// raises is the consequence, not a bug worth a traceback: a cancellation, anything raised after
// send() reported the disconnect (`send_raised_disconnect`), or an exception that holds our
// disconnect error (an OSError) in its cause or context chain, as frameworks re-raise it as
// their own (Starlette's ClientDisconnect from a StreamingResponse): a debug line. Anything
// else is an error with its traceback.
void logAppException(uint64_t connection_id, PyObject* exception, bool gone,
                     bool send_raised_disconnect);

// The Python type of a cycle object of `size` bytes (a static type, readied by the caller).
PyTypeObject makeCycleType(const char* name, Py_ssize_t size, destructor dealloc,
                           PyMethodDef* methods, const char* doc);

}  // namespace asgid::py
