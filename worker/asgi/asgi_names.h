// Interned Python strings and constant objects of the ASGI bridge, made once per interpreter
// (GIL held) so building scopes and reading messages never creates a key.
#pragma once

#include <Python.h>

#include <string_view>

namespace asgid::py {

struct AsgiNames {
  // Dict keys.
  PyObject* type;
  PyObject* asgi;
  PyObject* http_version;
  PyObject* server;
  PyObject* client;
  PyObject* scheme;
  PyObject* method;
  PyObject* root_path;
  PyObject* path;
  PyObject* raw_path;
  PyObject* query_string;
  PyObject* headers;
  PyObject* state;
  PyObject* body;
  PyObject* more_body;
  PyObject* status;
  PyObject* extensions;
  PyObject* subprotocols;
  PyObject* subprotocol;
  PyObject* text;
  PyObject* bytes;
  PyObject* code;
  PyObject* reason;
  // Values.
  PyObject* http;
  PyObject* version_1_0;
  PyObject* version_1_1;
  PyObject* scheme_http;
  PyObject* http_request;
  PyObject* http_disconnect;
  PyObject* http_response_start;
  PyObject* http_response_body;
  PyObject* empty_bytes;
  PyObject* asgi_info;  // {"version": "3.0", "spec_version": "2.4"}, copied into each scope
  // WebSocket values.
  PyObject* websocket;
  PyObject* scheme_ws;
  PyObject* websocket_connect;
  PyObject* websocket_accept;
  PyObject* websocket_receive;
  PyObject* websocket_send;
  PyObject* websocket_disconnect;
  PyObject* websocket_close;
  PyObject* websocket_http_response_start;
  PyObject* websocket_http_response_body;
  PyObject* websocket_extensions;  // {"websocket.http.response": {}}, copied into each scope
  PyObject* empty_str;
  // Method names.
  PyObject* set_result;
  PyObject* set_exception;
  PyObject* done;
  PyObject* cancel;

  // The interned method string for a common HTTP method, else null.
  PyObject* commonMethod(std::string_view method) const;

  static const AsgiNames& get();

 private:
  PyObject* methods_[9];
};

// Whether `value` is the str `name` (identity first, then comparison).
inline bool isName(PyObject* value, PyObject* name) {
  return value == name || (PyUnicode_Check(value) && PyUnicode_Compare(value, name) == 0);
}

}  // namespace asgid::py
