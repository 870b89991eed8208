// Principle: who a request is from and for, as the application is told (the scope's client,
// scheme and server). A connection knows its peer; a proxy in front of us knows the real
// client and says so in headers, and we believe those headers only when the peer is in
// --forwarded-allow-ips. From anyone else they are left in the request as sent and ignored, so
// a client cannot claim to be someone else.
//
// Pure: a request head and the connection's addresses in, a RequestOrigin out. No socket, no
// Python; the HTTP/1.1 connection computes it once per request head and the WebSocket scope
// is built from the same value.
//
// What is read from a trusted peer:
//   X-Forwarded-For    the client: the list is walked from the right (each proxy appends the
//                      address it received the request from), trusted addresses are skipped,
//                      the first untrusted one is the client; if every one is trusted, the
//                      leftmost. "host:port" and "[v6]:port" entries give the port, others
//                      port 0 (as uvicorn 0.54). "unknown" makes the client unknown (None).
//   X-Forwarded-Proto  the scheme: the rightmost value (the nearest proxy's word); http and ws
//                      mean "http", https and wss mean "https" (a WebSocket scope turns them
//                      into ws/wss); other values are ignored.
//   Forwarded          (RFC 7239, with --forwarded-header) used instead of the X-Forwarded-*
//                      headers when present: the elements are walked as X-Forwarded-For, and
//                      the chosen element's proto= and host= apply. A Forwarded field that
//                      does not parse is ignored as a whole (the connection's view stays).
//   X-Forwarded-Host, X-Forwarded-Port, Forwarded's host=   only with --forwarded-host: the
//                      scope's server becomes (host, port) and the request's Host header is
//                      rewritten to match, so that frameworks build URLs with it.
#pragma once

#include <string>
#include <string_view>

#include "common/address_set.h"
#include "worker/http/http_parser.h"
#include "worker/net/endpoint.h"

namespace asgid::http {

struct ProxyOptions {
  bool proxy_headers = true;      // --proxy-headers: X-Forwarded-For/Proto
  bool forwarded_header = false;  // --forwarded-header: RFC 7239 Forwarded
  bool forwarded_host = false;    // --forwarded-host: X-Forwarded-Host/Port, Forwarded host=
  AddressSet trusted;             // --forwarded-allow-ips
};

struct RequestOrigin {
  net::Endpoint client;              // host empty when unknown (scope client None)
  bool client_known = true;          // false for a Unix-socket peer, or a proxy's "unknown"
  net::Endpoint server;              // the local end, or the forwarded host
  std::string_view scheme = "http";  // "http" or "https" (static strings)
};

// Whether a peer may speak for the client: a Unix-socket peer when "unix" is in the list, an
// address peer when its address is.
bool peerTrusted(const net::Endpoint& peer, bool unix_peer, const AddressSet& trusted);

// The origin of a request that arrived from `peer` on `local`. With --forwarded-host it may
// rewrite the head's Host header.
RequestOrigin requestOrigin(RequestHead& head, const net::Endpoint& peer, bool unix_peer,
                            const net::Endpoint& local, const ProxyOptions& options);

// The pieces, for tests.
namespace forwarded {

// One hop of X-Forwarded-For or a Forwarded "for" node.
struct Node {
  enum class Kind { kAddress, kName, kUnknown, kInvalid } kind = Kind::kInvalid;
  std::string host;  // the address without brackets, or the name
  int port = 0;      // 0 when not given (or obfuscated)
};

// "203.0.113.7", "203.0.113.7:4711", "[2001:db8::1]:80", "2001:db8::1", "unknown", a name.
Node parseForwardedForEntry(std::string_view text);

// RFC 7239 section 4 elements, in order; false when the field value does not parse.
struct Element {
  bool has_for = false;
  Node for_node;
  std::string proto;  // lowercased, as sent; empty when absent
  std::string host;   // as sent; empty when absent
};
bool parseForwarded(std::string_view value, std::vector<Element>& out);

// "http"/"https" for a forwarded proto (http, https, ws, wss, any case); empty otherwise.
std::string_view schemeOf(std::string_view proto);

}  // namespace forwarded

}  // namespace asgid::http
