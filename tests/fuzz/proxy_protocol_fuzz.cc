// libFuzzer target for the PROXY protocol header parser (worker/net/proxy_protocol.h). The
// parser's contract, checked on every input: a verdict other than "need more" is final (every
// longer input that starts the same way gets the same one, and every shorter prefix of a
// header needs more), a header is never longer than the input nor than the format allows, and
// addresses come only with kDone and has_addresses.
#include "worker/net/proxy_protocol.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

using asgid::net::kProxyHeaderMax;
using asgid::net::parseProxyHeader;
using asgid::net::ProxyHeader;
using Status = ProxyHeader::Status;

void check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "proxy_protocol_fuzz: invariant broken: %s\n", what);
  std::abort();
}

void checkVerdict(const ProxyHeader& header, size_t size) {
  if (header.status == Status::kDone) {
    check(header.consumed > 0 && header.consumed <= size, "consumed out of range");
    check(header.consumed <= kProxyHeaderMax, "header longer than the format allows");
  } else {
    check(header.consumed == 0, "consumed without kDone");
    check(!header.has_addresses, "addresses without kDone");
  }
  if (header.status == Status::kError) check(std::strlen(header.error) > 0, "error unnamed");
  if (header.has_addresses && !header.unix_family) {
    check(header.source.port >= 0 && header.source.port <= 65535, "source port");
    check(header.destination.port >= 0 && header.destination.port <= 65535, "destination port");
    check(!header.source.host.empty() && !header.destination.host.empty(), "empty address");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const char* bytes = reinterpret_cast<const char*>(data);
  ProxyHeader whole = parseProxyHeader(bytes, size);
  checkVerdict(whole, size);
  // Prefixes: how a connection sees the header arrive. Every length up to 256, then a sample.
  for (size_t n = 0; n < size; n = n < 256 ? n + 1 : n + 1 + n / 16) {
    ProxyHeader part = parseProxyHeader(bytes, n);
    checkVerdict(part, n);
    if (part.status == Status::kNeedMore) {
      check(whole.status != Status::kDone || n < whole.consumed, "need more after a header");
      continue;
    }
    check(part.status == whole.status, "a verdict changed with more bytes");
    check(part.consumed == whole.consumed, "a header's length changed with more bytes");
    check(part.source.host == whole.source.host && part.source.port == whole.source.port,
          "a header's source changed with more bytes");
  }
  return 0;
}
