// The HTTP/1.1 upgrade path (RFC 9110 7.8): a protocol that can take a connection over from
// HTTP/1.1 (WebSocket today) registers an Upgrader with the HttpServer. The HTTP side knows
// nothing of the protocol it hands the transport to.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "worker/http/http_parser.h"
#include "worker/http/request_origin.h"
#include "worker/http/response_head.h"
#include "worker/net/transport.h"

namespace asgid::http {

class Upgrader {
 public:
  virtual ~Upgrader() = default;

  // Whether the request asks for this protocol (its Upgrade header names it). Such a request is
  // never given to the HTTP request handler: it is upgraded, refused, or (HTTP/1.0, where
  // Upgrade means nothing) served as plain HTTP.
  virtual bool wants(const RequestHead& head) const = 0;

  struct Refusal {
    int status = 0;  // 0: the transport was handed over
    std::vector<Header> headers;
    std::string reason;  // for the log
  };
  // The head (complete, no body) asked for the protocol and the parser stopped after it.
  // Either checks the handshake and switches the transport to the new protocol, giving it
  // `leftover` (bytes read past the head), the head and its origin (who the request is from,
  // proxies considered), or refuses (the HTTP connection then answers `status` with
  // `headers` and closes). `start_ns`: when the request began, for the access log.
  virtual Refusal upgrade(net::Transport& transport, RequestHead& head, const RequestOrigin& origin,
                          std::string leftover, uint64_t start_ns) = 0;
};

}  // namespace asgid::http
