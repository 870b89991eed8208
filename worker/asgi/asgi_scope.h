// Builds the ASGI HTTP and WebSocket connection scopes (ASGI spec 2.4, "Connection Scope")
// from a request head, entirely from C++. GIL held.
#pragma once

#include <Python.h>

#include <string>
#include <string_view>
#include <vector>

#include "worker/http/exchange.h"
#include "worker/python/py_ref.h"

namespace asgid::py {

struct ScopeContext {
  PyRef root_path;        // str
  PyRef root_path_bytes;  // bytes
  PyRef state;            // the lifespan state dict, or null: copied shallowly per request
};

// A new scope dict, or null with a Python exception set.
PyObject* buildHttpScope(const http::RequestInfo& request, const ScopeContext& context);

// The ASGI WebSocket connection scope (spec 2.4): the HTTP one's keys without method, with
// scheme ws/wss, the client's subprotocols and the websocket.http.response extension.
PyObject* buildWebSocketScope(const http::RequestInfo& request,
                              const std::vector<std::string>& subprotocols,
                              const ScopeContext& context);

// Splits a request target into its path and query, without the '?'. The parser hands over
// origin-form or asterisk-form only (it rewrites absolute-form, RFC 9112 3.2.2).
void splitTarget(std::string_view target, std::string_view& path, std::string_view& query);

// Percent-decodes `path` (RFC 3986 2.1) into bytes; invalid escapes are kept as they are.
std::string percentDecode(std::string_view path);

}  // namespace asgid::py
