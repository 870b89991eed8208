#include "worker/asgi/asgi_scope.h"

#include "worker/asgi/asgi_names.h"

namespace asgid::py {
namespace {

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

PyObject* endpointTuple(const http::Endpoint& endpoint) {
  if (endpoint.port < 0) return Py_BuildValue("(sO)", endpoint.host.c_str(), Py_None);
  return Py_BuildValue("(si)", endpoint.host.c_str(), endpoint.port);
}

PyObject* headerList(const http::RequestHead& head) {
  PyObject* list = PyList_New(static_cast<Py_ssize_t>(head.headers.size()));
  if (list == nullptr) return nullptr;
  Py_ssize_t index = 0;
  for (const auto& [name, value] : head.headers) {
    PyObject* pair = PyTuple_New(2);
    PyObject* name_bytes =
        PyBytes_FromStringAndSize(name.data(), static_cast<Py_ssize_t>(name.size()));
    PyObject* value_bytes =
        PyBytes_FromStringAndSize(value.data(), static_cast<Py_ssize_t>(value.size()));
    if (pair == nullptr || name_bytes == nullptr || value_bytes == nullptr) {
      Py_XDECREF(pair);
      Py_XDECREF(name_bytes);
      Py_XDECREF(value_bytes);
      Py_DECREF(list);
      return nullptr;
    }
    PyTuple_SET_ITEM(pair, 0, name_bytes);
    PyTuple_SET_ITEM(pair, 1, value_bytes);
    PyList_SET_ITEM(list, index++, pair);
  }
  return list;
}

// scope["path"]: root_path + the percent-decoded path, as UTF-8 (invalid bytes replaced).
PyObject* decodedPath(std::string_view raw, PyObject* root_path) {
  PyRef decoded;
  if (raw.find('%') == std::string_view::npos) {
    decoded = PyRef::steal(
        PyUnicode_DecodeUTF8(raw.data(), static_cast<Py_ssize_t>(raw.size()), "replace"));
  } else {
    std::string bytes = percentDecode(raw);
    decoded = PyRef::steal(
        PyUnicode_DecodeUTF8(bytes.data(), static_cast<Py_ssize_t>(bytes.size()), "replace"));
  }
  if (!decoded || PyUnicode_GET_LENGTH(root_path) == 0) return decoded.release();
  return PyUnicode_Concat(root_path, decoded.get());
}

PyObject* rawPath(std::string_view raw, PyObject* root_path_bytes) {
  if (PyBytes_GET_SIZE(root_path_bytes) == 0) {
    return PyBytes_FromStringAndSize(raw.data(), static_cast<Py_ssize_t>(raw.size()));
  }
  std::string joined(PyBytes_AS_STRING(root_path_bytes), PyBytes_GET_SIZE(root_path_bytes));
  joined.append(raw);
  return PyBytes_FromStringAndSize(joined.data(), static_cast<Py_ssize_t>(joined.size()));
}

// Sets scope[key] = value, stealing `value`; false (exception set) if value is null or the set
// fails.
bool setStolen(PyObject* scope, PyObject* key, PyObject* value) {
  if (value == nullptr) return false;
  int rc = PyDict_SetItem(scope, key, value);
  Py_DECREF(value);
  return rc == 0;
}

bool setBorrowed(PyObject* scope, PyObject* key, PyObject* value) {
  return PyDict_SetItem(scope, key, value) == 0;
}

}  // namespace

void splitTarget(std::string_view target, std::string_view& path, std::string_view& query) {
  size_t mark = target.find('?');
  if (mark == std::string_view::npos) {
    path = target;
    query = {};
  } else {
    path = target.substr(0, mark);
    query = target.substr(mark + 1);
  }
  if (path.empty()) path = "/";
}

std::string percentDecode(std::string_view path) {
  std::string out;
  out.reserve(path.size());
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '%' && i + 2 < path.size()) {
      int high = hexValue(path[i + 1]);
      int low = hexValue(path[i + 2]);
      if (high >= 0 && low >= 0) {
        out += static_cast<char>(high * 16 + low);
        i += 2;
        continue;
      }
    }
    out += path[i];
  }
  return out;
}

namespace {

// The keys HTTP and WebSocket scopes share (everything but type, scheme and method).
bool setCommonKeys(PyObject* dict, const http::RequestInfo& request, const ScopeContext& context) {
  const AsgiNames& names = AsgiNames::get();
  const http::RequestHead& head = request.head;
  std::string_view path;
  std::string_view query;
  splitTarget(head.target, path, query);
  return setStolen(dict, names.asgi, PyDict_Copy(names.asgi_info)) &&
         setBorrowed(dict, names.http_version,
                     head.http_minor == 0 ? names.version_1_0 : names.version_1_1) &&
         setStolen(dict, names.server, endpointTuple(request.local)) &&
         (request.unix_socket ? setBorrowed(dict, names.client, Py_None)
                              : setStolen(dict, names.client, endpointTuple(request.peer))) &&
         setBorrowed(dict, names.root_path, context.root_path.get()) &&
         setStolen(dict, names.path, decodedPath(path, context.root_path.get())) &&
         setStolen(dict, names.raw_path, rawPath(path, context.root_path_bytes.get())) &&
         setStolen(
             dict, names.query_string,
             PyBytes_FromStringAndSize(query.data(), static_cast<Py_ssize_t>(query.size()))) &&
         setStolen(dict, names.headers, headerList(head)) &&
         (!context.state || setStolen(dict, names.state, PyDict_Copy(context.state.get())));
}

// scope["scheme"]: the interned "http" or "ws" when it is one of them.
PyObject* schemeValue(std::string_view scheme) {
  const AsgiNames& names = AsgiNames::get();
  if (scheme == "http") return Py_NewRef(names.scheme_http);
  if (scheme == "ws") return Py_NewRef(names.scheme_ws);
  return PyUnicode_FromStringAndSize(scheme.data(), static_cast<Py_ssize_t>(scheme.size()));
}

PyObject* stringList(const std::vector<std::string>& items) {
  PyObject* list = PyList_New(static_cast<Py_ssize_t>(items.size()));
  if (list == nullptr) return nullptr;
  for (size_t i = 0; i < items.size(); ++i) {
    PyObject* item =
        PyUnicode_DecodeLatin1(items[i].data(), static_cast<Py_ssize_t>(items[i].size()), nullptr);
    if (item == nullptr) {
      Py_DECREF(list);
      return nullptr;
    }
    PyList_SET_ITEM(list, static_cast<Py_ssize_t>(i), item);
  }
  return list;
}

}  // namespace

PyObject* buildHttpScope(const http::RequestInfo& request, const ScopeContext& context) {
  const AsgiNames& names = AsgiNames::get();
  const http::RequestHead& head = request.head;
  PyRef scope = PyRef::steal(PyDict_New());
  if (!scope) return nullptr;
  PyObject* dict = scope.get();
  PyObject* method = names.commonMethod(head.method);
  bool ok = setBorrowed(dict, names.type, names.http) &&
            setStolen(dict, names.scheme, schemeValue(request.scheme)) &&
            (method != nullptr
                 ? setBorrowed(dict, names.method, method)
                 : setStolen(dict, names.method,
                             PyUnicode_DecodeLatin1(head.method.data(),
                                                    static_cast<Py_ssize_t>(head.method.size()),
                                                    nullptr))) &&
            setCommonKeys(dict, request, context);
  if (!ok) return nullptr;
  return scope.release();
}

PyObject* buildWebSocketScope(const http::RequestInfo& request,
                              const std::vector<std::string>& subprotocols,
                              const ScopeContext& context) {
  const AsgiNames& names = AsgiNames::get();
  PyRef scope = PyRef::steal(PyDict_New());
  if (!scope) return nullptr;
  PyObject* dict = scope.get();
  bool ok = setBorrowed(dict, names.type, names.websocket) &&
            setStolen(dict, names.scheme, schemeValue(request.scheme)) &&
            setCommonKeys(dict, request, context) &&
            setStolen(dict, names.subprotocols, stringList(subprotocols)) &&
            setStolen(dict, names.extensions, PyDict_Copy(names.websocket_extensions));
  if (!ok) return nullptr;
  return scope.release();
}

}  // namespace asgid::py
