// Scope building: the pure target helpers, and whole scopes built from parsed requests (the
// HTTP side parses; buildHttpScope makes the dict from a RequestInfo value).
#include "worker/asgi/asgi_scope.h"

#include <gtest/gtest.h>

#include "worker/http/http_parser.h"

namespace asgid::py {
namespace {

class PythonEnvironment : public ::testing::Environment {
 public:
  void SetUp() override { Py_InitializeEx(0); }
  void TearDown() override { Py_FinalizeEx(); }
};
const auto* const kPython = ::testing::AddGlobalTestEnvironment(new PythonEnvironment);

TEST(SplitTarget, OriginAndAsteriskForms) {
  std::string_view path, query;
  splitTarget("/a/b?x=1&y=2", path, query);
  EXPECT_EQ(path, "/a/b");
  EXPECT_EQ(query, "x=1&y=2");
  splitTarget("/plain", path, query);
  EXPECT_EQ(path, "/plain");
  EXPECT_EQ(query, "");
  splitTarget("*", path, query);
  EXPECT_EQ(path, "*");
  splitTarget("/?", path, query);
  EXPECT_EQ(path, "/");
  EXPECT_EQ(query, "");
}

TEST(PercentDecode, DecodesValidEscapesOnly) {
  EXPECT_EQ(percentDecode("/a%20b"), "/a b");
  EXPECT_EQ(percentDecode("/%E2%82%AC"), "/\xe2\x82\xac");
  EXPECT_EQ(percentDecode("/100%"), "/100%");
  EXPECT_EQ(percentDecode("/%zz%4"), "/%zz%4");
  EXPECT_EQ(percentDecode("/a+b"), "/a+b");  // '+' is not a space in a path
  EXPECT_EQ(percentDecode("/%2F"), "//");
}

// Parses `request` with the real (pure) parser and builds the scope from the RequestInfo the
// connection would hand over: no socket, no loop.
class ScopeTest : public ::testing::Test, public http::ParserCallbacks {
 protected:
  void onRequestHead(http::RequestHead& head) override {
    head_ = std::move(head);
    complete_ = true;
  }
  void onBody(std::string_view) override {}
  void onMessageComplete() override {}

  PyRef scopeFor(const std::string& request, bool unix_socket = false) {
    http::ParserLimits limits{
        .max_target = 8190, .max_fields = 100, .max_field_size = 8190, .max_headers_size = 65536};
    http::HttpParser parser(*this, limits);
    complete_ = false;
    parser.feed(request.data(), request.size());
    EXPECT_TRUE(complete_) << request;
    if (!complete_) return {};
    http::RequestInfo info{head_, peer_, local_, unix_socket, scheme_, 7};
    return PyRef::steal(buildHttpScope(info, context_));
  }

  std::string text(PyObject* scope, const char* key) {
    PyObject* value = PyDict_GetItemString(scope, key);
    if (value == nullptr) return "<missing>";
    PyRef repr = PyRef::steal(PyObject_Repr(value));
    return PyUnicode_AsUTF8(repr.get());
  }

  void SetUp() override {
    context_.root_path = PyRef::steal(PyUnicode_FromString(""));
    context_.root_path_bytes = PyRef::steal(PyBytes_FromString(""));
  }

  ScopeContext context_;
  http::RequestHead head_;
  bool complete_ = false;
  http::Endpoint peer_{"10.1.2.3", 51234};
  http::Endpoint local_{"127.0.0.1", 8000};
  std::string_view scheme_ = "http";
};

TEST_F(ScopeTest, HttpScopeFields) {
  PyRef scope = scopeFor(
      "GET /caf%C3%A9/x%20y?q=%20a&b HTTP/1.1\r\nHost: h\r\nX-Dup: 1\r\nx-dup: 2\r\n"
      "Accept:  text/plain \r\n\r\n");
  ASSERT_TRUE(scope);
  PyObject* dict = scope.get();
  EXPECT_EQ(text(dict, "type"), "'http'");
  EXPECT_EQ(text(dict, "asgi"), "{'version': '3.0', 'spec_version': '2.4'}");
  EXPECT_EQ(text(dict, "http_version"), "'1.1'");
  EXPECT_EQ(text(dict, "method"), "'GET'");
  EXPECT_EQ(text(dict, "scheme"), "'http'");
  EXPECT_EQ(text(dict, "path"), "'/caf\xc3\xa9/x y'");
  EXPECT_EQ(text(dict, "raw_path"), "b'/caf%C3%A9/x%20y'");
  EXPECT_EQ(text(dict, "query_string"), "b'q=%20a&b'");
  EXPECT_EQ(text(dict, "root_path"), "''");
  EXPECT_EQ(text(dict, "headers"),
            "[(b'host', b'h'), (b'x-dup', b'1'), (b'x-dup', b'2'), (b'accept', b'text/plain')]");
  EXPECT_EQ(text(dict, "client"), "('10.1.2.3', 51234)");
  EXPECT_EQ(text(dict, "server"), "('127.0.0.1', 8000)");
  EXPECT_EQ(text(dict, "state"), "<missing>");
}

TEST_F(ScopeTest, RootPathPrefixesPathAndRawPath) {
  context_.root_path = PyRef::steal(PyUnicode_FromString("/api"));
  context_.root_path_bytes = PyRef::steal(PyBytes_FromString("/api"));
  PyRef scope = scopeFor("POST /items HTTP/1.0\r\nContent-Length: 0\r\n\r\n");
  ASSERT_TRUE(scope);
  EXPECT_EQ(text(scope.get(), "path"), "'/api/items'");
  EXPECT_EQ(text(scope.get(), "raw_path"), "b'/api/items'");
  EXPECT_EQ(text(scope.get(), "root_path"), "'/api'");
  EXPECT_EQ(text(scope.get(), "http_version"), "'1.0'");
  EXPECT_EQ(text(scope.get(), "method"), "'POST'");
}

TEST_F(ScopeTest, StateIsAShallowCopy) {
  PyRef shared = PyRef::steal(PyList_New(0));
  context_.state = PyRef::steal(PyDict_New());
  PyDict_SetItemString(context_.state.get(), "shared", shared.get());
  PyRef scope = scopeFor("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  ASSERT_TRUE(scope);
  PyObject* state = PyDict_GetItemString(scope.get(), "state");
  ASSERT_NE(state, nullptr);
  EXPECT_NE(state, context_.state.get());
  EXPECT_EQ(PyDict_GetItemString(state, "shared"), shared.get());
  PyDict_SetItemString(state, "added", Py_None);
  EXPECT_EQ(PyDict_GetItemString(context_.state.get(), "added"), nullptr);
}

TEST_F(ScopeTest, InvalidUtf8InPathIsReplacedNotFatal) {
  PyRef scope = scopeFor("GET /%FF%FE HTTP/1.1\r\nHost: h\r\n\r\n");
  ASSERT_TRUE(scope);
  EXPECT_EQ(text(scope.get(), "path"), "'/\xef\xbf\xbd\xef\xbf\xbd'");
  EXPECT_EQ(text(scope.get(), "raw_path"), "b'/%FF%FE'");
}

TEST_F(ScopeTest, UncommonMethodIsKept) {
  PyRef scope = scopeFor("PROPFIND /dav HTTP/1.1\r\nHost: h\r\n\r\n");
  ASSERT_TRUE(scope);
  EXPECT_EQ(text(scope.get(), "method"), "'PROPFIND'");
}

TEST_F(ScopeTest, AbsoluteFormTargetNamesTheHostTheAppSees) {
  // RFC 9112 3.2.2: the URL's authority, not the Host field, is the request's host.
  PyRef scope = scopeFor("GET HTTP://example.com:8080/p?q HTTP/1.1\r\nHost: evil\r\n\r\n");
  ASSERT_TRUE(scope);
  EXPECT_EQ(text(scope.get(), "path"), "'/p'");
  EXPECT_EQ(text(scope.get(), "raw_path"), "b'/p'");
  EXPECT_EQ(text(scope.get(), "query_string"), "b'q'");
  EXPECT_EQ(text(scope.get(), "headers"), "[(b'host', b'example.com:8080')]");
}

TEST_F(ScopeTest, UnixSocketPeerHasNoClientAddress) {
  local_ = http::Endpoint{"/run/app.sock", -1};
  PyRef scope = scopeFor("GET / HTTP/1.1\r\nHost: h\r\n\r\n", true);
  ASSERT_TRUE(scope);
  EXPECT_EQ(text(scope.get(), "client"), "None");
  EXPECT_EQ(text(scope.get(), "server"), "('/run/app.sock', None)");
}

TEST_F(ScopeTest, SchemeComesFromTheRequestInfo) {
  scheme_ = "https";
  PyRef scope = scopeFor("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  ASSERT_TRUE(scope);
  EXPECT_EQ(text(scope.get(), "scheme"), "'https'");
}

}  // namespace
}  // namespace asgid::py
