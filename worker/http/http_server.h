// Principle: the server owns the listeners' accept watchers, the set of live connections and
// what they share: the read buffer, the Date header cache, the write-flush pass and deferred
// deletion. Writes queued during a loop turn leave in one writev per connection from an
// ev_prepare watcher, right before the loop waits in the kernel.
#pragma once

#include <ev.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "worker/http/http_parser.h"
#include "worker/http/request_handler.h"
#include "worker/http/response_head.h"

namespace asgid::http {

class HttpConnection;

struct ServerOptions {
  ParserLimits limits;
  double timeout_keep_alive = 5.0;
  double timeout_request_header = 10.0;
  int limit_concurrency = 0;  // 0: none
  bool server_header = true;
  bool date_header = true;
  std::vector<Header> extra_headers;
};

// A listening socket handed to the server (the fd is not owned).
struct ListenerInfo {
  int fd = -1;
  bool unix_socket = false;
  std::string host;  // for scope["server"]; the path for a Unix socket
  int port = 0;
};

class HttpServer {
 public:
  HttpServer(struct ev_loop* loop, ServerOptions options, RequestHandler& handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  void addListener(const ListenerInfo& listener);
  void start();

  // Stops accepting, closes idle connections and lets the others finish their current request
  // (answered with `connection: close`). `on_drained` runs once no connection is left.
  void beginShutdown(std::function<void()> on_drained);
  // Closes every connection now, telling attached requests to stop (graceful timeout).
  void abortAll();

  size_t connectionCount() const { return connections_.size(); }
  size_t activeRequests() const { return active_requests_; }
  bool shuttingDown() const { return shutting_down_; }

  // For connections.
  struct ev_loop* loop() const {
    return loop_;
  }
  const ServerOptions& options() const { return options_; }
  RequestHandler& handler() { return handler_; }
  std::string_view date();
  std::string_view serverName() const { return options_.server_header ? "asgid" : ""; }
  char* readBuffer() { return read_buffer_.get(); }
  static constexpr size_t kReadBufferSize = 64 * 1024;
  void scheduleFlush(HttpConnection* connection);
  void requestStarted() {
    ++active_requests_;
    if (++total_requests_ == request_limit_ && on_request_limit_) on_request_limit_();
  }
  // Calls `callback` once, when the `limit`-th request starts (--limit-max-requests).
  void setRequestLimit(uint64_t limit, std::function<void()> callback) {
    request_limit_ = limit;
    on_request_limit_ = std::move(callback);
  }
  void requestEnded() { --active_requests_; }
  // The connection is closed; it is deleted after the current loop turn.
  void retire(HttpConnection* connection);
  // Makes the loop's next wait non-blocking (work was queued from a prepare callback).
  void wakeSoon();

 private:
  struct Listener {
    ev_io watcher;
    ListenerInfo info;
    HttpServer* server;
  };
  static void onAcceptable(struct ev_loop* loop, ev_io* watcher, int events);
  static void onPrepare(struct ev_loop* loop, ev_prepare* watcher, int events);
  static void onIdle(struct ev_loop* loop, ev_idle* watcher, int events);
  void acceptFrom(Listener& listener);
  void flushAndReap();
  void checkDrained();

  struct ev_loop* loop_;
  ServerOptions options_;
  RequestHandler& handler_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::vector<HttpConnection*> connections_;  // live (not retired)
  std::vector<HttpConnection*> dirty_;
  std::vector<HttpConnection*> retired_;
  std::unique_ptr<char[]> read_buffer_;
  ev_prepare prepare_;
  ev_idle wake_;
  std::string date_;
  int64_t date_second_ = -1;
  size_t active_requests_ = 0;
  uint64_t total_requests_ = 0;
  uint64_t request_limit_ = 0;
  std::function<void()> on_request_limit_;
  bool shutting_down_ = false;
  std::function<void()> on_drained_;
  uint64_t next_connection_id_ = 1;
};

}  // namespace asgid::http
