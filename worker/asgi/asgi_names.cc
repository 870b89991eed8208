#include "worker/asgi/asgi_names.h"

#include <cstdlib>

namespace asgid::py {
namespace {

constexpr const char* kMethods[] = {"GET",     "POST",  "PUT",   "DELETE", "HEAD",
                                    "OPTIONS", "PATCH", "TRACE", "CONNECT"};

PyObject* intern(const char* text) {
  PyObject* value = PyUnicode_InternFromString(text);
  if (value == nullptr) {
    PyErr_Print();
    abort();  // out of memory at startup: nothing sensible to do
  }
  return value;
}

AsgiNames makeNames() {
  AsgiNames names;
  names.type = intern("type");
  names.asgi = intern("asgi");
  names.http_version = intern("http_version");
  names.server = intern("server");
  names.client = intern("client");
  names.scheme = intern("scheme");
  names.method = intern("method");
  names.root_path = intern("root_path");
  names.path = intern("path");
  names.raw_path = intern("raw_path");
  names.query_string = intern("query_string");
  names.headers = intern("headers");
  names.state = intern("state");
  names.body = intern("body");
  names.more_body = intern("more_body");
  names.status = intern("status");
  names.extensions = intern("extensions");
  names.subprotocols = intern("subprotocols");
  names.subprotocol = intern("subprotocol");
  names.text = intern("text");
  names.bytes = intern("bytes");
  names.code = intern("code");
  names.reason = intern("reason");
  names.http = intern("http");
  names.version_1_0 = intern("1.0");
  names.version_1_1 = intern("1.1");
  names.scheme_http = intern("http");
  names.http_request = intern("http.request");
  names.http_disconnect = intern("http.disconnect");
  names.http_response_start = intern("http.response.start");
  names.http_response_body = intern("http.response.body");
  names.empty_bytes = PyBytes_FromStringAndSize("", 0);
  names.asgi_info = Py_BuildValue("{s:s,s:s}", "version", "3.0", "spec_version", "2.4");
  names.websocket = intern("websocket");
  names.scheme_ws = intern("ws");
  names.websocket_connect = intern("websocket.connect");
  names.websocket_accept = intern("websocket.accept");
  names.websocket_receive = intern("websocket.receive");
  names.websocket_send = intern("websocket.send");
  names.websocket_disconnect = intern("websocket.disconnect");
  names.websocket_close = intern("websocket.close");
  names.websocket_http_response_start = intern("websocket.http.response.start");
  names.websocket_http_response_body = intern("websocket.http.response.body");
  names.websocket_extensions = Py_BuildValue("{s:{}}", "websocket.http.response");
  names.empty_str = intern("");
  names.set_result = intern("set_result");
  names.set_exception = intern("set_exception");
  names.done = intern("done");
  names.cancel = intern("cancel");
  return names;
}

}  // namespace

const AsgiNames& AsgiNames::get() {
  static AsgiNames names = [] {
    AsgiNames made = makeNames();
    for (size_t i = 0; i < std::size(kMethods); ++i) made.methods_[i] = intern(kMethods[i]);
    return made;
  }();
  return names;
}

PyObject* AsgiNames::commonMethod(std::string_view method) const {
  for (size_t i = 0; i < std::size(kMethods); ++i) {
    if (method == kMethods[i]) return methods_[i];
  }
  return nullptr;
}

}  // namespace asgid::py
