// WebSocketConnection through the real path: an HttpServer with the WebSocketServer as its
// Upgrader, serving one end of a socketpair, and a C++ app standing in for the ASGI bridge.
// The test end plays the client with raw bytes.
#include "worker/websocket/websocket_connection.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "tests/unit/websocket/client_frames.h"
#include "worker/http/http_server.h"
#include "worker/websocket/websocket_server.h"

namespace asgid::ws {
namespace {

using testing::clientFrame;

class NoHttp : public http::RequestHandler {
 public:
  void onRequest(http::Exchange& exchange) override { exchange.respondError(404); }
};

// The app: accepts (or not), echoes what it takes (or lets messages pile up).
class App : public WebSocketHandler, public SessionObserver {
 public:
  WebSocketSession* session = nullptr;
  bool accept_at_once = true;
  bool echo = true;
  bool disconnected = false;
  int sessions = 0;

  void onWebSocket(WebSocketSession& s) override {
    ++sessions;
    session = &s;
    s.attach(this);
    if (accept_at_once) s.accept("", {});
  }
  void onMessageReady() override {
    if (!echo) return;
    Message message;
    while (session->takeMessage(message)) {
      session->send(message.text, message.data.data(), message.data.size());
    }
  }
  void onWritable() override {}
  void onDisconnect(bool) override {
    disconnected = true;
    session = nullptr;
  }
};

constexpr char kHandshake[] =
    "GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

// A server frame's payload as the client reads it (unmasked; short frames only).
std::string serverFrame(uint8_t opcode, const std::string& payload) {
  return std::string(1, static_cast<char>(0x80 | opcode)) +
         std::string(1, static_cast<char>(payload.size())) + payload;
}

std::string closePayload(uint16_t code) {
  return {static_cast<char>(code >> 8), static_cast<char>(code & 0xFF)};
}

class WebSocketConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    signal(SIGPIPE, SIG_IGN);
    loop_ = ev_loop_new(EVFLAG_AUTO);
    options_ = WebSocketOptions{.max_message_size = 1 << 20,
                                .max_queue = 4,
                                .ping_interval = 0,
                                .ping_timeout = 0,
                                .per_message_deflate = true,
                                .close_timeout = 0.3};
  }
  void TearDown() override {
    if (client_ >= 0) close(client_);
    http_.reset();
    websockets_.reset();
    ev_loop_destroy(loop_);
  }
  void start() {
    http_ = std::make_unique<http::HttpServer>(loop_, http::serverOptions(config::Settings{}),
                                               no_http_);
    websockets_ = std::make_unique<WebSocketServer>(*http_, options_, app_);
    int pair[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, pair), 0);
    client_ = pair[0];
    http_->serve(pair[1], net::Endpoint{"127.0.0.1", 5555}, net::ListenerInfo{-1, false, "x", 80});
  }
  void write(const std::string& bytes) {
    ASSERT_EQ(::send(client_, bytes.data(), bytes.size(), 0), static_cast<ssize_t>(bytes.size()));
  }
  // Runs the loop, collecting what the client receives, until `until` is in it, the server
  // closed, or `ms` passed.
  std::string read(const std::string& until, int ms = 2000) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (std::chrono::steady_clock::now() < deadline &&
           received_.find(until) == std::string::npos && !server_closed_) {
      ev_run(loop_, EVRUN_NOWAIT);
      pollfd poller{client_, POLLIN, 0};
      if (poll(&poller, 1, 5) > 0) {
        char buffer[65536];
        ssize_t got = recv(client_, buffer, sizeof buffer, MSG_DONTWAIT);
        if (got == 0) server_closed_ = true;
        if (got > 0) received_.append(buffer, static_cast<size_t>(got));
      }
    }
    return received_;
  }
  void pump(int ms) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (std::chrono::steady_clock::now() < deadline) {
      ev_run(loop_, EVRUN_NOWAIT);
      usleep(2000);
    }
  }
  bool has(const std::string& what) const { return received_.find(what) != std::string::npos; }

  struct ev_loop* loop_;
  WebSocketOptions options_;
  NoHttp no_http_;
  App app_;
  std::unique_ptr<http::HttpServer> http_;
  std::unique_ptr<WebSocketServer> websockets_;
  int client_ = -1;
  std::string received_;
  bool server_closed_ = false;
};

TEST_F(WebSocketConnectionTest, UpgradesAndEchoesIncludingBytesSentWithTheHandshake) {
  start();
  write(kHandshake + clientFrame(0x1, "early"));
  read("early");
  EXPECT_TRUE(has("HTTP/1.1 101 Switching Protocols\r\n")) << received_;
  EXPECT_TRUE(has("sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
  EXPECT_TRUE(has(serverFrame(0x1, "early")));
  write(clientFrame(0x2, "bin") + clientFrame(0x9, "p"));
  read(serverFrame(0xA, "p"));
  EXPECT_TRUE(has(serverFrame(0x2, "bin")));
  EXPECT_TRUE(has(serverFrame(0xA, "p"))) << "a ping gets its pong";
  EXPECT_EQ(http_->activeRequests(), 1u);
}

TEST_F(WebSocketConnectionTest, ClosingHandshakeEchoesTheCodeAndEndsTheSession) {
  start();
  write(kHandshake);
  read("\r\n\r\n");
  write(clientFrame(0x8, closePayload(4000) + "bye"));
  read("never", 500);
  EXPECT_TRUE(has(serverFrame(0x8, closePayload(4000)))) << received_;
  EXPECT_TRUE(server_closed_) << "the server closes TCP first (RFC 6455 7.1.1)";
  ASSERT_NE(app_.session, nullptr);
  EXPECT_TRUE(app_.session->ended());
  EXPECT_EQ(app_.session->closeInfo().code, 4000);
  EXPECT_EQ(app_.session->closeInfo().reason, "bye");
  shutdown(client_, SHUT_WR);  // ends the server's lingering close
  pump(100);
  EXPECT_TRUE(app_.disconnected);
  EXPECT_EQ(http_->activeRequests(), 0u);
}

TEST_F(WebSocketConnectionTest, ProtocolErrorsFailWithTheirCode) {
  start();
  write(kHandshake);
  read("\r\n\r\n");
  write(clientFrame(0x1, "not masked", true, false, false));
  read("never", 1000);
  EXPECT_TRUE(has(serverFrame(0x8, closePayload(1002)))) << received_;
  EXPECT_TRUE(server_closed_);
}

TEST_F(WebSocketConnectionTest, UnansweredPingsCloseWith1011) {
  options_.ping_interval = 0.05;
  options_.ping_timeout = 0.1;
  start();
  write(kHandshake);
  read(serverFrame(0x8, closePayload(1011)), 3000);
  EXPECT_TRUE(has(std::string(1, '\x89'))) << "a ping went out first";
  EXPECT_TRUE(has(serverFrame(0x8, closePayload(1011)))) << received_;
}

TEST_F(WebSocketConnectionTest, AnsweredPingsKeepTheConnection) {
  options_.ping_interval = 0.05;
  options_.ping_timeout = 0.1;
  start();
  write(kHandshake);
  read("\r\n\r\n");
  for (int i = 0; i < 6; ++i) {
    pump(40);
    write(clientFrame(0xA, ""));
  }
  EXPECT_FALSE(has(std::string("\x88", 1) + "\x02\x03\xf3")) << "closed with 1011";
  EXPECT_FALSE(server_closed_);
}

TEST_F(WebSocketConnectionTest, AFullQueueStopsParsingUntilTheAppTakes) {
  app_.echo = false;
  start();
  write(kHandshake);
  read("\r\n\r\n");
  std::string burst;
  // Not "m" + std::to_string(): GCC 12's -Wrestrict false positive (GCC bug 105329).
  for (int i = 0; i < 10; ++i)
    burst += clientFrame(0x1, std::string("m").append(std::to_string(i)));
  write(burst);
  pump(100);
  ASSERT_NE(app_.session, nullptr);
  int taken = 0;
  Message message;
  while (app_.session->takeMessage(message)) ++taken;
  EXPECT_EQ(taken, 4) << "--ws-max-queue messages, no more";
  EXPECT_EQ(message.data, "m3");
  pump(100);  // the flush pass parses what was held back
  while (app_.session->takeMessage(message)) ++taken;
  EXPECT_EQ(taken, 8);
  EXPECT_EQ(message.data, "m7");
}

TEST_F(WebSocketConnectionTest, GoAwayClosesOpenSocketsAndRefusesPendingHandshakes) {
  start();
  write(kHandshake);
  read("\r\n\r\n");
  websockets_->setDrainCode(1012);
  EXPECT_EQ(websockets_->closeAll(), 1u);
  read(serverFrame(0x8, closePayload(1012)));
  EXPECT_TRUE(has(serverFrame(0x8, closePayload(1012)))) << received_;
  ASSERT_NE(app_.session, nullptr);
  EXPECT_TRUE(app_.session->ended());
  EXPECT_EQ(app_.session->closeInfo().code, 1012);
}

TEST_F(WebSocketConnectionTest, PendingHandshakeGets503OnGoAway) {
  app_.accept_at_once = false;
  start();
  write(kHandshake);
  pump(50);
  EXPECT_EQ(app_.sessions, 1);
  websockets_->closeAll();
  read("never", 500);
  EXPECT_TRUE(has("HTTP/1.1 503 ")) << received_;
}

TEST_F(WebSocketConnectionTest, ClosedByTheAppWaitsForThePeersClose) {
  start();
  write(kHandshake);
  read("\r\n\r\n");
  ASSERT_NE(app_.session, nullptr);
  app_.session->close(4001, "done");
  read(serverFrame(0x8, closePayload(4001) + "done"));
  EXPECT_FALSE(server_closed_);
  EXPECT_EQ(app_.session->send(true, "late", 4), SendStatus::kClosed);
  read("never", 1000);  // no close from the peer: dropped after close_timeout
  EXPECT_TRUE(server_closed_);
  EXPECT_TRUE(app_.disconnected);
}

TEST_F(WebSocketConnectionTest, BadHandshakesAreRefusedByHttp) {
  start();
  std::string request = kHandshake;
  request.replace(request.find("Version: 13"), 11, "Version: 8");
  write(request);
  read("never", 500);
  EXPECT_TRUE(has("HTTP/1.1 426 ")) << received_;
  EXPECT_TRUE(has("sec-websocket-version: 13\r\n"));
  EXPECT_EQ(app_.sessions, 0);
}

}  // namespace
}  // namespace asgid::ws
