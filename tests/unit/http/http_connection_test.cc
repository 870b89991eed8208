// HttpConnection and HttpServer over real loopback sockets, with a request handler written in
// C++ standing in for the ASGI bridge.
#include "worker/http/http_connection.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include "worker/http/http_server.h"

namespace asgid::http {
namespace {

class Handler : public RequestHandler {
 public:
  std::function<void(Exchange&)> on_request;
  int requests = 0;
  void onRequest(Exchange& exchange) override {
    ++requests;
    if (on_request) on_request(exchange);
  }
};

void respond(Exchange& connection, std::string body, std::vector<Header> headers = {},
             int status = 200) {
  connection.startResponse(status, std::move(headers));
  connection.sendBody(body.data(), body.size(), false);
}

class ConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    signal(SIGPIPE, SIG_IGN);
    loop_ = ev_loop_new(EVFLAG_AUTO);
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    ASSERT_EQ(listen(listen_fd_, 16), 0);
    socklen_t length = sizeof address;
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    handler_.on_request = [](Exchange& c) { respond(c, "hi"); };
  }
  void TearDown() override {
    server_.reset();
    close(listen_fd_);
    ev_loop_destroy(loop_);
  }
  void startServer(ServerOptions options = serverOptions(config::Settings{})) {
    server_ = std::make_unique<HttpServer>(loop_, options, handler_);
    server_->addListener({listen_fd_, false, "127.0.0.1", port_});
    server_->start();
  }
  int connectClient() {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port_));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    return fd;
  }
  void pump(int rounds = 20) {
    for (int i = 0; i < rounds; ++i) ev_run(loop_, EVRUN_NOWAIT);
  }
  // Runs the loop and collects what the client receives until `done(text)` or the deadline;
  // `closed` tells whether the server closed the connection.
  std::string receive(int fd, const std::function<bool(const std::string&)>& done,
                      bool* closed = nullptr, int ms = 3000) {
    std::string text;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    if (closed) *closed = false;
    while (std::chrono::steady_clock::now() < deadline && !done(text)) {
      ev_run(loop_, EVRUN_NOWAIT);
      pollfd poller{fd, POLLIN, 0};
      if (poll(&poller, 1, 5) > 0) {
        char buffer[65536];
        ssize_t got = recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
        if (got == 0) {
          if (closed) *closed = true;
          break;
        }
        if (got > 0) text.append(buffer, static_cast<size_t>(got));
      }
    }
    return text;
  }
  static bool count(const std::string& text, const std::string& what, int n) {
    int found = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
      ++found;
    }
    return found >= n;
  }
  void sendText(int fd, const std::string& text) {
    ASSERT_EQ(send(fd, text.data(), text.size(), 0), static_cast<ssize_t>(text.size()));
  }

  struct ev_loop* loop_;
  int listen_fd_;
  int port_;
  Handler handler_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(ConnectionTest, AnswersAndKeepsAlive) {
  startServer();
  int fd = connectClient();
  for (int i = 0; i < 3; ++i) {
    sendText(fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    std::string got =
        receive(fd, [](const std::string& t) { return t.find("\r\n\r\nhi") != std::string::npos; });
    EXPECT_EQ(got.rfind("HTTP/1.1 200 OK\r\nserver: asgid\r\ndate: ", 0), 0u) << got;
    EXPECT_NE(got.find("content-length: 2\r\n"), std::string::npos);
  }
  EXPECT_EQ(handler_.requests, 3);
  EXPECT_EQ(server_->connectionCount(), 1u);
  close(fd);
}

TEST_F(ConnectionTest, PipelinedRequestsAnsweredInOrder) {
  int n = 0;
  // Not "r" + std::to_string(): GCC 12's -Wrestrict false positive (GCC bug 105329).
  handler_.on_request = [&n](Exchange& c) {
    respond(c, std::string("r").append(std::to_string(n++)));
  };
  startServer();
  int fd = connectClient();
  sendText(fd,
           "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n"
           "GET /c HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string got =
      receive(fd, [](const std::string& t) { return t.find("r2") != std::string::npos; });
  size_t first = got.find("r0");
  size_t second = got.find("r1");
  size_t third = got.find("r2");
  ASSERT_NE(third, std::string::npos) << got;
  EXPECT_LT(first, second);
  EXPECT_LT(second, third);
  close(fd);
}

TEST_F(ConnectionTest, MalformedRequestGets400AndClose) {
  startServer();
  int fd = connectClient();
  sendText(fd, "GARBAGE\r\n\r\n");
  bool closed = false;
  std::string got = receive(
      fd, [](const std::string&) { return false; }, &closed);
  EXPECT_EQ(got.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << got;
  EXPECT_NE(got.find("connection: close"), std::string::npos);
  EXPECT_TRUE(closed);
  EXPECT_EQ(handler_.requests, 0);
  close(fd);
}

TEST_F(ConnectionTest, OverlongTargetGets414) {
  ServerOptions options = serverOptions(config::Settings{});
  options.limits.max_target = 100;
  startServer(options);
  int fd = connectClient();
  sendText(fd, "GET /" + std::string(200, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string got =
      receive(fd, [](const std::string& t) { return t.find("\r\n\r\n") != std::string::npos; });
  EXPECT_EQ(got.rfind("HTTP/1.1 414 ", 0), 0u) << got;
  close(fd);
}

TEST_F(ConnectionTest, IdleKeepAliveConnectionIsClosed) {
  ServerOptions options = serverOptions(config::Settings{});
  options.timeout_keep_alive = 0.2;
  startServer(options);
  int fd = connectClient();
  sendText(fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  bool closed = false;
  auto start = std::chrono::steady_clock::now();
  receive(
      fd, [](const std::string&) { return false; }, &closed, 3000);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_TRUE(closed);
  EXPECT_GE(seconds, 0.15);
  close(fd);
}

TEST_F(ConnectionTest, StalledHeadGets408) {
  ServerOptions options = serverOptions(config::Settings{});
  options.timeout_request_header = 0.2;
  startServer(options);
  int fd = connectClient();
  sendText(fd, "GET / HTTP/1.1\r\nHost:");
  bool closed = false;
  std::string got = receive(
      fd, [](const std::string&) { return false; }, &closed, 3000);
  EXPECT_EQ(got.rfind("HTTP/1.1 408 Request Timeout\r\n", 0), 0u) << got;
  EXPECT_TRUE(closed);
  close(fd);
}

TEST_F(ConnectionTest, StreamedResponseIsChunked) {
  handler_.on_request = [](Exchange& c) {
    c.startResponse(200, {});
    c.sendBody("hello ", 6, true);
    c.sendBody("world", 5, true);
    c.sendBody("", 0, false);
  };
  startServer();
  int fd = connectClient();
  sendText(fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string got =
      receive(fd, [](const std::string& t) { return t.find("0\r\n\r\n") != std::string::npos; });
  EXPECT_NE(got.find("transfer-encoding: chunked\r\n"), std::string::npos) << got;
  EXPECT_NE(got.find("\r\n\r\n6\r\nhello \r\n5\r\nworld\r\n0\r\n\r\n"), std::string::npos) << got;
  close(fd);
}

TEST_F(ConnectionTest, NeverWritesPastContentLength) {
  SendResult result = SendResult::kOk;
  handler_.on_request = [&result](Exchange& c) {
    c.startResponse(200, {{"content-length", "3"}});
    result = c.sendBody("abcdef", 6, false);
  };
  startServer();
  int fd = connectClient();
  sendText(fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  bool closed = false;
  std::string got = receive(
      fd, [](const std::string&) { return false; }, &closed);
  EXPECT_EQ(result, SendResult::kTooLong);
  EXPECT_EQ(got.substr(got.find("\r\n\r\n") + 4), "abc");
  EXPECT_TRUE(closed);
  close(fd);
}

TEST_F(ConnectionTest, HeadResponseHasNoBody) {
  startServer();
  int fd = connectClient();
  sendText(fd, "HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string got = receive(fd, [](const std::string& t) {
    return count(t, "HTTP/1.1 200", 2) && t.find("hi") != std::string::npos;
  });
  size_t second = got.find("HTTP/1.1 200", 1);
  ASSERT_NE(second, std::string::npos) << got;
  std::string first = got.substr(0, second);
  EXPECT_NE(first.find("content-length: 2\r\n"), std::string::npos);
  EXPECT_EQ(first.substr(first.find("\r\n\r\n") + 4), "");
  close(fd);
}

TEST_F(ConnectionTest, ExpectContinueSentWhenBodyWanted) {
  Exchange* current = nullptr;
  handler_.on_request = [&current](Exchange& c) { current = &c; };
  startServer();
  int fd = connectClient();
  sendText(fd, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
  std::string before = receive(
      fd, [](const std::string&) { return false; }, nullptr, 200);
  EXPECT_EQ(before, "");
  ASSERT_NE(current, nullptr);
  current->wantBody();
  std::string got =
      receive(fd, [](const std::string& t) { return t.find("\r\n\r\n") != std::string::npos; });
  EXPECT_EQ(got, "HTTP/1.1 100 Continue\r\n\r\n");
  sendText(fd, "body");
  pump();
  ASSERT_TRUE(current->bodyReady());
  std::string body;
  EXPECT_FALSE(current->takeBody(body));
  EXPECT_EQ(body, "body");
  respond(*current, "ok");
  got = receive(fd, [](const std::string& t) { return t.find("ok") != std::string::npos; });
  EXPECT_EQ(got.rfind("HTTP/1.1 200 OK", 0), 0u);
  close(fd);
}

TEST_F(ConnectionTest, UnreadBodyStopsReading) {
  Exchange* current = nullptr;
  handler_.on_request = [&current](Exchange& c) { current = &c; };
  startServer();
  int fd = connectClient();
  int small = 16 * 1024;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
  sendText(fd, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n");
  std::string chunk(64 * 1024, 'x');
  size_t sent = 0;
  for (int i = 0; i < 2000; ++i) {
    ssize_t n = send(fd, chunk.data(), chunk.size(), MSG_DONTWAIT);
    if (n > 0) sent += static_cast<size_t>(n);
    pump(2);
  }
  // The server stopped reading: far less than 100 MB could be sent.
  EXPECT_LT(sent, 8u * 1024 * 1024);
  ASSERT_NE(current, nullptr);
  close(fd);
  pump();
}

// Tells whether the request's observer heard of a disconnect.
class DisconnectObserver : public RequestObserver {
 public:
  void onBodyReady() override {}
  void onWritable() override {}
  void onDisconnect(bool) override { disconnected = true; }
  bool disconnected = false;
};

TEST_F(ConnectionTest, StalledBodyGets408AndTheAppHearsADisconnect) {
  DisconnectObserver observer;
  handler_.on_request = [&observer](Exchange& c) { c.attach(&observer); };
  ServerOptions options = serverOptions(config::Settings{});
  options.timeout_request_body = 0.2;
  startServer(options);
  int fd = connectClient();
  sendText(fd, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc");
  bool closed = false;
  std::string got = receive(
      fd, [](const std::string&) { return false; }, &closed, 3000);
  EXPECT_EQ(got.rfind("HTTP/1.1 408 Request Timeout\r\n", 0), 0u) << got;
  EXPECT_TRUE(closed);
  EXPECT_TRUE(observer.disconnected);
  close(fd);
}

TEST_F(ConnectionTest, NoBodyTimeoutWhileTheClientAwaits100Continue) {
  DisconnectObserver observer;
  Exchange* current = nullptr;
  handler_.on_request = [&](Exchange& c) {
    current = &c;
    c.attach(&observer);
  };
  ServerOptions options = serverOptions(config::Settings{});
  options.timeout_request_body = 0.2;
  startServer(options);
  int fd = connectClient();
  sendText(fd, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
  // Longer than the body timeout: the client holds its body until we say 100 Continue.
  std::string got = receive(
      fd, [](const std::string&) { return false; }, nullptr, 600);
  EXPECT_EQ(got, "");
  EXPECT_FALSE(observer.disconnected);
  ASSERT_NE(current, nullptr);
  current->attach(nullptr);
  respond(*current, "ok");
  got = receive(fd, [](const std::string& t) { return t.find("ok") != std::string::npos; });
  EXPECT_EQ(got.rfind("HTTP/1.1 200 OK", 0), 0u) << got;
  close(fd);
}

TEST_F(ConnectionTest, ClientThatStopsReadingIsClosedBySendTimeout) {
  DisconnectObserver observer;
  Exchange* current = nullptr;
  handler_.on_request = [&](Exchange& c) {
    current = &c;
    c.attach(&observer);
  };
  ServerOptions options = serverOptions(config::Settings{});
  options.timeout_send = 0.3;
  startServer(options);
  int fd = connectClient();
  int small = 4096;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  sendText(fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  pump();
  ASSERT_NE(current, nullptr);
  current->startResponse(200, {});
  std::string chunk(1024 * 1024, 'x');
  SendResult result = SendResult::kOk;
  for (int i = 0; i < 64 && result == SendResult::kOk && !observer.disconnected; ++i) {
    result = current->sendBody(chunk.data(), chunk.size(), true);
    pump(2);
  }
  // The client reads nothing: within the send timeout the server gives up on it.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (!observer.disconnected && std::chrono::steady_clock::now() < deadline) {
    ev_run(loop_, EVRUN_NOWAIT);
    usleep(5000);
  }
  EXPECT_TRUE(observer.disconnected);
  EXPECT_EQ(server_->connectionCount(), 0u);
  close(fd);
}

TEST_F(ConnectionTest, BadBodyTellsTheWaitingAppAndAnswers400) {
  DisconnectObserver observer;
  handler_.on_request = [&observer](Exchange& c) { c.attach(&observer); };
  startServer();
  int fd = connectClient();
  sendText(fd,
           "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
           "5\r\nhello\r\nzz\r\n");
  bool closed = false;
  std::string got = receive(
      fd, [](const std::string&) { return false; }, &closed, 3000);
  EXPECT_EQ(got.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << got;
  EXPECT_TRUE(closed);
  EXPECT_TRUE(observer.disconnected);  // else its receive() would wait forever
  close(fd);
}

TEST_F(ConnectionTest, ErrorAnswerToHeadHasNoBody) {
  handler_.on_request = [](Exchange& c) { c.respondError(500); };
  startServer();
  int fd = connectClient();
  sendText(fd, "HEAD / HTTP/1.1\r\nHost: a\r\n\r\n");
  bool closed = false;
  std::string got = receive(
      fd, [](const std::string&) { return false; }, &closed, 3000);
  EXPECT_EQ(got.rfind("HTTP/1.1 500 Internal Server Error\r\n", 0), 0u) << got;
  EXPECT_TRUE(got.ends_with("\r\n\r\n")) << got;
  EXPECT_TRUE(closed);
  close(fd);
}

TEST_F(ConnectionTest, InformationalStatusFromTheAppBecomes500) {
  handler_.on_request = [](Exchange& c) { respond(c, "x", {}, 101); };
  startServer();
  int fd = connectClient();
  sendText(fd, "GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n");
  bool closed = false;
  std::string got = receive(
      fd, [](const std::string&) { return false; }, &closed, 3000);
  // One final answer, then the connection ends: /2 is never answered as if it were /'s.
  EXPECT_EQ(got.rfind("HTTP/1.1 500 Internal Server Error\r\n", 0), 0u) << got;
  EXPECT_EQ(got.find("HTTP/1.1 101"), std::string::npos) << got;
  EXPECT_TRUE(count(got, "HTTP/1.1 ", 1) && !count(got, "HTTP/1.1 ", 2)) << got;
  EXPECT_TRUE(closed);
  close(fd);
}

TEST_F(ConnectionTest, ConcurrencyLimitAnswers503) {
  handler_.on_request = [](Exchange&) {};  // never answers
  ServerOptions options = serverOptions(config::Settings{});
  options.limit_concurrency = 1;
  startServer(options);
  int first = connectClient();
  sendText(first, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  pump();
  int second = connectClient();
  sendText(second, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string got =
      receive(second, [](const std::string& t) { return t.find("\r\n\r\n") != std::string::npos; });
  EXPECT_EQ(got.rfind("HTTP/1.1 503 Service Unavailable\r\n", 0), 0u) << got;
  EXPECT_EQ(handler_.requests, 1);  // the second never reached the app
  close(first);
  close(second);
  pump();
}

TEST_F(ConnectionTest, ShutdownDrainsAfterCurrentResponse) {
  Exchange* current = nullptr;
  handler_.on_request = [&current](Exchange& c) { current = &c; };
  startServer();
  int busy = connectClient();
  int idle = connectClient();
  sendText(busy, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  pump();
  ASSERT_NE(current, nullptr);
  ASSERT_EQ(server_->connectionCount(), 2u);
  bool drained = false;
  server_->beginShutdown([&drained] { drained = true; });
  // The idle connection is kept briefly for a request that may be on its way...
  bool idle_closed = false;
  receive(
      idle, [](const std::string&) { return false; }, &idle_closed, 300);
  EXPECT_FALSE(idle_closed);
  // ...then the shortened idle timeout closes it.
  receive(
      idle, [](const std::string&) { return false; }, &idle_closed, 3000);
  EXPECT_TRUE(idle_closed);
  EXPECT_FALSE(drained);
  respond(*current, "done");
  bool busy_closed = false;
  std::string got = receive(
      busy, [](const std::string&) { return false; }, &busy_closed);
  EXPECT_NE(got.find("connection: close\r\n"), std::string::npos) << got;
  EXPECT_NE(got.find("done"), std::string::npos);
  EXPECT_TRUE(busy_closed);
  // The server half-closed and lingers until the client closes too (RFC 9112 9.6).
  close(busy);
  receive(
      idle, [&drained](const std::string&) { return drained; }, nullptr, 1000);
  EXPECT_TRUE(drained);
  close(idle);
}

}  // namespace
}  // namespace asgid::http

namespace asgid::http {
namespace {

TEST_F(ConnectionTest, BadRequestAfterAGoodOneOnTheSameConnection) {
  startServer();
  int fd = connectClient();
  sendText(fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string got =
      receive(fd, [](const std::string& t) { return t.find("hi") != std::string::npos; });
  ASSERT_EQ(got.rfind("HTTP/1.1 200", 0), 0u);
  sendText(fd, "BROKEN LINE\r\n\r\n");
  got = receive(fd, [](const std::string& t) { return t.find("\r\n\r\n") != std::string::npos; });
  EXPECT_EQ(got.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << got;
  close(fd);
}

TEST_F(ConnectionTest, HostHeaderRequiredOnceOnHttp11) {
  startServer();
  for (const char* request :
       {"GET / HTTP/1.1\r\n\r\n", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"}) {
    int fd = connectClient();
    sendText(fd, request);
    std::string got =
        receive(fd, [](const std::string& t) { return t.find("\r\n\r\n") != std::string::npos; });
    EXPECT_EQ(got.rfind("HTTP/1.1 400 ", 0), 0u) << request;
    close(fd);
  }
  int fd = connectClient();
  sendText(fd, "GET / HTTP/1.0\r\n\r\n");
  std::string got =
      receive(fd, [](const std::string& t) { return t.find("hi") != std::string::npos; });
  EXPECT_EQ(got.rfind("HTTP/1.1 200 ", 0), 0u) << got;
  EXPECT_EQ(handler_.requests, 1);
  close(fd);
}

}  // namespace
}  // namespace asgid::http

namespace asgid::http {
namespace {

TEST_F(ConnectionTest, DrainingServerAnswersARequestOnAnIdleConnection) {
  startServer();
  int fd = connectClient();
  sendText(fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string got =
      receive(fd, [](const std::string& t) { return t.find("hi") != std::string::npos; });
  ASSERT_EQ(got.rfind("HTTP/1.1 200", 0), 0u);
  bool drained = false;
  server_->beginShutdown([&drained] { drained = true; });
  // A request the client sent before it could know: answered, with connection: close.
  sendText(fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  bool closed = false;
  got = receive(
      fd, [](const std::string&) { return false; }, &closed);
  EXPECT_EQ(got.rfind("HTTP/1.1 200", 0), 0u) << got;
  EXPECT_NE(got.find("connection: close\r\n"), std::string::npos) << got;
  EXPECT_TRUE(closed);
  close(fd);
  receive(
      -1, [&drained](const std::string&) { return drained; }, nullptr, 1000);
  EXPECT_TRUE(drained);
}

TEST_F(ConnectionTest, DeclaredBodyOverTheLimitGets413WithoutTheApp) {
  ServerOptions options = serverOptions(config::Settings{});
  options.limit_request_body = 10;
  startServer(options);
  int fd = connectClient();
  sendText(fd, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n");
  bool closed = false;
  std::string got = receive(
      fd, [](const std::string&) { return false; }, &closed, 3000);
  EXPECT_EQ(got.rfind("HTTP/1.1 413 ", 0), 0u) << got;
  EXPECT_NE(got.find("connection: close"), std::string::npos) << got;
  EXPECT_TRUE(closed);
  EXPECT_EQ(handler_.requests, 0);
  close(fd);
}

// Reads the whole body, then answers with its length.
class BodyReader : public RequestObserver {
 public:
  Exchange* exchange = nullptr;
  std::string body;
  bool disconnected = false;
  void onBodyReady() override {
    std::string piece;
    bool more = exchange->takeBody(piece);
    body += piece;
    if (!more) {
      std::string answer = std::to_string(body.size());
      exchange->startResponse(200, {});
      exchange->sendBody(answer.data(), answer.size(), false);
    }
  }
  void onWritable() override {}
  void onDisconnect(bool) override { disconnected = true; }
};

TEST_F(ConnectionTest, BodyAtTheLimitIsServed) {
  BodyReader reader;
  handler_.on_request = [&reader](Exchange& c) {
    reader.exchange = &c;
    c.attach(&reader);
    c.wantBody();
  };
  ServerOptions options = serverOptions(config::Settings{});
  options.limit_request_body = 10;
  startServer(options);
  int fd = connectClient();
  sendText(fd, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789");
  std::string got =
      receive(fd, [](const std::string& t) { return t.find("\r\n\r\n10") != std::string::npos; });
  EXPECT_EQ(got.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << got;
  reader.body.clear();
  sendText(fd,
           "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
           "6\r\n012345\r\n4\r\n6789\r\n0\r\n\r\n");
  got = receive(fd, [](const std::string& t) { return t.find("\r\n\r\n10") != std::string::npos; });
  EXPECT_EQ(got.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << got;
  EXPECT_FALSE(reader.disconnected);
  close(fd);
}

TEST_F(ConnectionTest, ChunkedBodyOverTheLimitGets413AndTheAppHearsADisconnect) {
  BodyReader reader;
  handler_.on_request = [&reader](Exchange& c) {
    reader.exchange = &c;
    c.attach(&reader);
    c.wantBody();
  };
  ServerOptions options = serverOptions(config::Settings{});
  options.limit_request_body = 10;
  startServer(options);
  int fd = connectClient();
  sendText(fd, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n012345\r\n");
  pump();
  EXPECT_EQ(reader.body, "012345");
  sendText(fd, "6\r\n6789ab\r\n");
  bool closed = false;
  std::string got = receive(
      fd, [](const std::string&) { return false; }, &closed, 3000);
  EXPECT_EQ(got.rfind("HTTP/1.1 413 ", 0), 0u) << got;
  EXPECT_TRUE(closed);
  EXPECT_TRUE(reader.disconnected);
  EXPECT_EQ(reader.body, "012345");  // the bytes past the limit never reach the app
  close(fd);
}

TEST_F(ConnectionTest, ChunkedBodyOverTheLimitAfterTheResponseStartedCloses) {
  BodyReader reader;
  handler_.on_request = [&reader](Exchange& c) {
    reader.exchange = &c;
    c.attach(&reader);
    c.startResponse(200, {});
    c.sendBody("streaming", 9, true);
    c.wantBody();
  };
  ServerOptions options = serverOptions(config::Settings{});
  options.limit_request_body = 4;
  startServer(options);
  int fd = connectClient();
  sendText(fd, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
  std::string got =
      receive(fd, [](const std::string& t) { return t.find("streaming") != std::string::npos; });
  sendText(fd, "5\r\n01234\r\n");
  bool closed = false;
  got += receive(
      fd, [](const std::string&) { return false; }, &closed, 3000);
  EXPECT_EQ(got.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << got;
  EXPECT_EQ(got.find("413"), std::string::npos) << got;
  EXPECT_TRUE(closed);
  EXPECT_TRUE(reader.disconnected);
  close(fd);
}

TEST_F(ConnectionTest, NoBodyLimitByDefault) {
  BodyReader reader;
  handler_.on_request = [&reader](Exchange& c) {
    reader.exchange = &c;
    c.attach(&reader);
    c.wantBody();
  };
  startServer();
  int fd = connectClient();
  std::string body(200000, 'b');
  sendText(fd, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 200000\r\n\r\n");
  std::thread writer([&] { send(fd, body.data(), body.size(), 0); });
  std::string got = receive(
      fd, [](const std::string& t) { return t.find("\r\n\r\n200000") != std::string::npos; });
  writer.join();
  EXPECT_EQ(got.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << got;
  close(fd);
}

// --proxy-protocol: the PROXY header is read by its own stage, then HTTP/1.1 takes over with
// the bytes after it, and the header's addresses are the request's.
TEST_F(ConnectionTest, ProxyHeaderAddressesReachTheRequest) {
  std::string seen;
  handler_.on_request = [&seen](Exchange& c) {
    RequestInfo info = c.info();
    seen = info.peer.host;
    seen.append(":").append(std::to_string(info.peer.port)).append(" ").append(info.local.host);
    seen.append(":").append(std::to_string(info.local.port));
    respond(c, "ok");
  };
  ServerOptions options = serverOptions(config::Settings{});
  options.proxy_protocol = true;
  startServer(options);
  int fd = connectClient();
  sendText(fd,
           "PROXY TCP4 203.0.113.5 198.51.100.2 56324 443\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string got =
      receive(fd, [](const std::string& t) { return t.find("\r\n\r\nok") != std::string::npos; });
  EXPECT_EQ(got.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << got;
  EXPECT_EQ(seen, "203.0.113.5:56324 198.51.100.2:443");
  // The same connection goes on as HTTP/1.1 (no second PROXY header).
  sendText(fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  got = receive(fd, [](const std::string& t) { return t.find("\r\n\r\nok") != std::string::npos; });
  EXPECT_EQ(got.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << got;
  EXPECT_EQ(handler_.requests, 2);
  close(fd);
}

TEST_F(ConnectionTest, ProxyHeaderFromAnUntrustedPeerIsRefused) {
  ServerOptions options = serverOptions(config::Settings{});
  options.proxy_protocol = true;
  options.proxy.trusted = AddressSet::parse("10.0.0.1");
  startServer(options);
  int fd = connectClient();
  sendText(fd, "PROXY TCP4 203.0.113.5 198.51.100.2 1 2\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n");
  bool closed = false;
  std::string got = receive(
      fd, [](const std::string&) { return false; }, &closed, 3000);
  EXPECT_TRUE(closed);
  EXPECT_EQ(got, "");
  EXPECT_EQ(handler_.requests, 0);
  close(fd);
}

TEST_F(ConnectionTest, MissingOrSlowProxyHeaderCloses) {
  ServerOptions options = serverOptions(config::Settings{});
  options.proxy_protocol = true;
  options.timeout_request_header = 0.2;
  startServer(options);
  for (const char* sent : {"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "PROXY TCP4 203.0"}) {
    int fd = connectClient();
    sendText(fd, sent);
    bool closed = false;
    std::string got = receive(
        fd, [](const std::string&) { return false; }, &closed, 3000);
    EXPECT_TRUE(closed) << sent;
    EXPECT_EQ(got, "") << sent;
    close(fd);
  }
  EXPECT_EQ(handler_.requests, 0);
}

}  // namespace
}  // namespace asgid::http
