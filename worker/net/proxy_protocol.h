// Principle: the PROXY protocol header (HAProxy's "PROXY protocol" specification, versions 1
// and 2), which a load balancer in TCP mode (HAProxy, AWS NLB, ...) sends before the client's
// bytes to say which addresses the connection really joins. The parser is pure: bytes in, a
// verdict out (need more, done with the header's length and addresses, or an error); the
// caller buffers, times out and closes.
//
// Version 1 is one text line of at most 107 bytes ("PROXY TCP4 src dst sport dport\r\n",
// TCP6, or UNKNOWN with anything up to the CRLF); version 2 is a 16-byte binary head (a
// 12-byte signature, version and command, family and transport, length) followed by the
// addresses and TLVs, which are skipped. A LOCAL command (the balancer's own health check), an
// UNKNOWN line or an UNSPEC family carry no addresses: the connection's own stand.
#pragma once

#include <cstddef>

#include "worker/net/endpoint.h"

namespace asgid::net {

struct ProxyHeader {
  enum class Status { kNeedMore, kDone, kError };
  Status status = Status::kNeedMore;
  size_t consumed = 0;  // kDone: the header's length; the bytes after it are the client's
  // kDone: whether the header carries addresses (false for LOCAL, UNKNOWN and UNSPEC).
  bool has_addresses = false;
  bool unix_family = false;  // AF_UNIX: the hosts are socket paths, ports -1
  Endpoint source;           // the client
  Endpoint destination;      // the address the client connected to
  const char* error = "";    // kError: a short static description for the log
};

// The most bytes a header can take: version 2's 16-byte head and 65535-byte body.
inline constexpr size_t kProxyHeaderMax = 16 + 65535;

// Reads a header at the start of `data`. kNeedMore while `data` is a prefix of a header that
// may still be valid; kError as soon as it cannot be one.
ProxyHeader parseProxyHeader(const char* data, size_t size);

}  // namespace asgid::net
