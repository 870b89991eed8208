#include "worker/net/proxy_protocol.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>
#include <string_view>

namespace asgid::net {
namespace {

constexpr std::string_view kV1Prefix = "PROXY ";
constexpr size_t kV1MaxLine = 107;  // the longest TCP6 line with its CRLF
constexpr std::string_view kV2Signature("\r\n\r\n\0\r\nQUIT\n", 12);
constexpr size_t kV2HeadSize = 16;
// Version 2 address blocks (section 2.2): two addresses, then two ports (not for AF_UNIX).
constexpr size_t kV2InetSize = 4 + 4 + 2 + 2;
constexpr size_t kV2Inet6Size = 16 + 16 + 2 + 2;
constexpr size_t kV2UnixPath = 108;
constexpr size_t kV2UnixSize = kV2UnixPath * 2;

ProxyHeader needMore() {
  return ProxyHeader{};
}

ProxyHeader fail(const char* reason) {
  ProxyHeader header;
  header.status = ProxyHeader::Status::kError;
  header.error = reason;
  return header;
}

ProxyHeader done(size_t consumed) {
  ProxyHeader header;
  header.status = ProxyHeader::Status::kDone;
  header.consumed = consumed;
  return header;
}

// Whether `data` begins like `prefix` as far as it goes.
bool startsLike(std::string_view data, std::string_view prefix) {
  size_t n = std::min(data.size(), prefix.size());
  return data.substr(0, n) == prefix.substr(0, n);
}

// A version 1 port: 0..65535 in decimal, without leading zeros.
bool parseV1Port(std::string_view text, int& port) {
  if (text.empty() || text.size() > 5 || (text.size() > 1 && text[0] == '0')) return false;
  port = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    port = port * 10 + (c - '0');
  }
  return port <= 65535;
}

bool parseV1Address(std::string_view text, int family, std::string& out) {
  char buffer[INET6_ADDRSTRLEN];
  if (text.empty() || text.size() >= sizeof buffer) return false;
  text.copy(buffer, text.size());
  buffer[text.size()] = '\0';
  unsigned char raw[sizeof(in6_addr)];
  if (inet_pton(family, buffer, raw) != 1) return false;
  out.assign(text);
  return true;
}

// "PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n" (section 2.1): single spaces, no others.
ProxyHeader parseV1(std::string_view data) {
  size_t end = data.substr(0, kV1MaxLine).find("\r\n");
  if (end == std::string_view::npos) {
    if (data.substr(0, kV1MaxLine).find('\n') != std::string_view::npos) {
      return fail("PROXY v1 line ends without CR");
    }
    if (data.size() >= kV1MaxLine) return fail("PROXY v1 line longer than 107 bytes");
    return needMore();
  }
  std::string_view line = data.substr(kV1Prefix.size(), end - kV1Prefix.size());
  // A CR or LF inside the line (even after UNKNOWN) would make the verdict depend on how the
  // bytes arrived.
  if (line.find_first_of("\r\n") != std::string_view::npos) {
    return fail("PROXY v1 line holds a bare CR or LF");
  }
  std::string_view fields[6];
  size_t count = 0;
  while (count < 6) {
    size_t space = line.find(' ');
    fields[count++] = line.substr(0, space);
    if (space == std::string_view::npos) break;
    line = line.substr(space + 1);
  }
  ProxyHeader header = done(end + 2);
  // UNKNOWN: the sender cannot tell (another family); what follows it is to be ignored.
  if (fields[0] == "UNKNOWN") return header;
  int family = fields[0] == "TCP4" ? AF_INET : fields[0] == "TCP6" ? AF_INET6 : -1;
  if (family < 0) return fail("PROXY v1 protocol is not TCP4, TCP6 or UNKNOWN");
  if (count != 5) return fail("PROXY v1 line does not have 5 fields");
  if (!parseV1Address(fields[1], family, header.source.host) ||
      !parseV1Address(fields[2], family, header.destination.host)) {
    return fail("PROXY v1 address is not one of its family");
  }
  if (!parseV1Port(fields[3], header.source.port) ||
      !parseV1Port(fields[4], header.destination.port)) {
    return fail("PROXY v1 port is not 0..65535");
  }
  header.has_addresses = true;
  return header;
}

std::string ipText(int family, const unsigned char* raw) {
  char text[INET6_ADDRSTRLEN] = {0};
  inet_ntop(family, raw, text, sizeof text);
  return text;
}

int portAt(const unsigned char* raw) {
  return (raw[0] << 8) | raw[1];
}

std::string unixPath(const unsigned char* raw) {
  const char* path = reinterpret_cast<const char*>(raw);
  return std::string(path, strnlen(path, kV2UnixPath));
}

// Section 2.2: signature, version and command, family and transport, length, addresses, TLVs.
ProxyHeader parseV2(std::string_view data) {
  if (data.size() < kV2HeadSize) return needMore();
  const auto* raw = reinterpret_cast<const unsigned char*>(data.data());
  const unsigned version = raw[12] >> 4;
  const unsigned command = raw[12] & 0x0f;
  const unsigned family = raw[13] >> 4;
  const unsigned transport = raw[13] & 0x0f;
  const size_t length = (static_cast<size_t>(raw[14]) << 8) | raw[15];
  if (version != 2) return fail("PROXY v2 version is not 2");
  if (command > 1) return fail("PROXY v2 command is not LOCAL or PROXY");
  if (family > 3) return fail("PROXY v2 address family is unknown");
  if (transport > 2) return fail("PROXY v2 transport is unknown");
  static constexpr size_t kAddressSize[] = {0, kV2InetSize, kV2Inet6Size, kV2UnixSize};
  if (length < kAddressSize[family]) return fail("PROXY v2 length is shorter than its addresses");
  if (data.size() < kV2HeadSize + length) return needMore();
  ProxyHeader header = done(kV2HeadSize + length);  // TLVs after the addresses are skipped
  // LOCAL: the balancer speaks for itself (health checks); UNSPEC: nothing to say.
  if (command == 0 || family == 0) return header;
  if (transport != 1) return fail("PROXY v2 transport is not STREAM");
  const unsigned char* body = raw + kV2HeadSize;
  if (family == 1) {
    header.source = {ipText(AF_INET, body), portAt(body + 8)};
    header.destination = {ipText(AF_INET, body + 4), portAt(body + 10)};
  } else if (family == 2) {
    header.source = {ipText(AF_INET6, body), portAt(body + 32)};
    header.destination = {ipText(AF_INET6, body + 16), portAt(body + 34)};
  } else {
    header.unix_family = true;
    header.source = {unixPath(body), -1};
    header.destination = {unixPath(body + kV2UnixPath), -1};
  }
  header.has_addresses = true;
  return header;
}

}  // namespace

ProxyHeader parseProxyHeader(const char* data, size_t size) {
  std::string_view bytes(data, size);
  if (size == 0) return needMore();
  if (startsLike(bytes, kV1Prefix)) {
    return size < kV1Prefix.size() ? needMore() : parseV1(bytes);
  }
  if (startsLike(bytes, kV2Signature)) {
    return size < kV2Signature.size() ? needMore() : parseV2(bytes);
  }
  return fail("no PROXY protocol header");
}

}  // namespace asgid::net
