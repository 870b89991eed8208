// Scope building: the pure target helpers, and whole scopes built from requests that arrive
// over a real socket (the HTTP side parses; buildHttpScope makes the dict).
#include "worker/python/asgi_scope.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>

#include "worker/http/http_server.h"

namespace asgid::py {
namespace {

class PythonEnvironment : public ::testing::Environment {
 public:
  void SetUp() override { Py_InitializeEx(0); }
  void TearDown() override { Py_FinalizeEx(); }
};
const auto* const kPython = ::testing::AddGlobalTestEnvironment(new PythonEnvironment);

TEST(SplitTarget, OriginAbsoluteAndAsteriskForms) {
  std::string_view path, query;
  splitTarget("/a/b?x=1&y=2", path, query);
  EXPECT_EQ(path, "/a/b");
  EXPECT_EQ(query, "x=1&y=2");
  splitTarget("/plain", path, query);
  EXPECT_EQ(path, "/plain");
  EXPECT_EQ(query, "");
  splitTarget("http://example.com:8080/p?q", path, query);
  EXPECT_EQ(path, "/p");
  EXPECT_EQ(query, "q");
  splitTarget("http://example.com", path, query);
  EXPECT_EQ(path, "/");
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

// Sends `request` to a real server and returns the scope built for it.
class ScopeTest : public ::testing::Test, public http::RequestHandler {
 protected:
  void onRequest(http::HttpConnection& connection) override {
    scope_ = PyRef::steal(buildHttpScope(connection, context_));
    connection.respondError(500);  // any answer: the test only wants the scope
  }

  PyRef scopeFor(const std::string& request) {
    struct ev_loop* loop = ev_loop_new(EVFLAG_AUTO);
    int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address);
    listen(listener, 4);
    socklen_t length = sizeof address;
    getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length);
    {
      http::HttpServer server(loop, {}, *this);
      server.addListener({listener, false, "127.0.0.1", ntohs(address.sin_port)});
      server.start();
      int client = socket(AF_INET, SOCK_STREAM, 0);
      EXPECT_EQ(connect(client, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
      client_port_ = 0;
      sockaddr_in mine{};
      socklen_t mine_length = sizeof mine;
      getsockname(client, reinterpret_cast<sockaddr*>(&mine), &mine_length);
      client_port_ = ntohs(mine.sin_port);
      server_port_ = ntohs(address.sin_port);
      send(client, request.data(), request.size(), 0);
      for (int i = 0; i < 200 && !scope_; ++i) {
        ev_run(loop, EVRUN_NOWAIT);
        usleep(1000);
      }
      close(client);
    }
    close(listener);
    ev_loop_destroy(loop);
    return std::move(scope_);
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
  PyRef scope_;
  int client_port_ = 0;
  int server_port_ = 0;
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
  EXPECT_EQ(text(dict, "client"), "('127.0.0.1', " + std::to_string(client_port_) + ")");
  EXPECT_EQ(text(dict, "server"), "('127.0.0.1', " + std::to_string(server_port_) + ")");
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

}  // namespace
}  // namespace asgid::py
