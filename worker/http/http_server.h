// Principle: the HTTP/1.1 server of a worker: accepted sockets become transports speaking
// HttpConnection. It owns the acceptor and the transport set, and what the HTTP connections
// share: the options, the request handler, the Date header cache and the in-flight count
// behind --limit-concurrency and --limit-max-requests.
#pragma once

#include <ev.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/access_log_format.h"
#include "config/settings.h"
#include "worker/http/exchange.h"
#include "worker/http/http_parser.h"
#include "worker/http/request_origin.h"
#include "worker/http/response_head.h"
#include "worker/http/upgrade.h"
#include "worker/net/acceptor.h"
#include "worker/net/transport_set.h"

namespace asgid::http {

using ListenerInfo = net::ListenerInfo;

// What the server takes from the settings. The settings (config/settings.h) hold every
// default; these fields have none of their own: make them with serverOptions().
struct ServerOptions {
  ParserLimits limits;
  double timeout_keep_alive;
  double timeout_request_header;
  double timeout_request_body;
  double timeout_send;
  int limit_concurrency;        // 0: none
  uint64_t limit_request_body;  // bytes of a request body (413 beyond); 0: none
  bool server_header;
  bool date_header;
  std::vector<Header> extra_headers;
  ProxyOptions proxy;  // whose proxy headers to believe, and which
  // --proxy-protocol: every listener expects a PROXY protocol header (ListenerInfo says so
  // per listener).
  bool proxy_protocol = false;
  log::AccessLogFormat access_format;  // --access-log-format, compiled
  bool request_id = false;             // --request-id: give a request without X-Request-ID one
};

ServerOptions serverOptions(const config::Settings& settings);
ParserLimits parserLimits(const config::Settings& settings);

class HttpServer {
 public:
  HttpServer(struct ev_loop* loop, ServerOptions options, RequestHandler& handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  void addListener(const ListenerInfo& listener);
  void start();
  // Serves an already connected socket (which the server owns from now on), as if accepted
  // from `listener`: what the acceptor calls, and a seam for tests and fuzzers.
  void serve(int fd, net::Endpoint peer, const ListenerInfo& listener);

  // Stops accepting, closes idle connections and lets the others finish their current request
  // (answered with `connection: close`). `on_drained` runs once no connection is left.
  void beginShutdown(std::function<void()> on_drained);
  // Closes every connection now, telling attached requests to stop (graceful timeout).
  void abortAll();

  size_t connectionCount() const { return transports_.size(); }
  size_t activeRequests() const { return active_requests_; }
  bool shuttingDown() const { return shutting_down_; }
  bool acceptPaused() const { return acceptor_.paused(); }

  // The protocol that upgrade requests asking for it are handed to (WebSocket), or null.
  void setUpgrader(Upgrader* upgrader) { upgrader_ = upgrader; }
  Upgrader* upgrader() const { return upgrader_; }

  // Calls `callback` once, when the `limit`-th request starts (--limit-max-requests).
  void setRequestLimit(uint64_t limit, std::function<void()> callback) {
    request_limit_ = limit;
    on_request_limit_ = std::move(callback);
  }

  // For connections.
  const ServerOptions& options() const { return options_; }
  RequestHandler& handler() { return handler_; }
  std::string_view date();
  std::string_view serverName() const { return options_.server_header ? "asgid" : ""; }
  void requestStarted() {
    ++active_requests_;
    if (++total_requests_ == request_limit_ && on_request_limit_) on_request_limit_();
  }
  void requestEnded() { --active_requests_; }

 private:
  void checkDrained();
  // Makes `transport` speak HTTP/1.1, first given `leftover` (bytes after a PROXY header).
  void startHttp(net::Transport& transport, std::string leftover);

  struct ev_loop* loop_;
  ServerOptions options_;
  RequestHandler& handler_;
  Upgrader* upgrader_ = nullptr;
  net::TransportSet transports_;
  net::Acceptor acceptor_;
  std::string date_;
  int64_t date_second_ = -1;
  size_t active_requests_ = 0;
  uint64_t total_requests_ = 0;
  uint64_t request_limit_ = 0;
  std::function<void()> on_request_limit_;
  bool shutting_down_ = false;
  std::function<void()> on_drained_;
};

}  // namespace asgid::http
