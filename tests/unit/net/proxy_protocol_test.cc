// The PROXY protocol header parser (worker/net/proxy_protocol.h), on bytes alone.
#include "worker/net/proxy_protocol.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <string>

namespace asgid::net {
namespace {

using Status = ProxyHeader::Status;

ProxyHeader parse(const std::string& bytes) {
  return parseProxyHeader(bytes.data(), bytes.size());
}

const std::string kSignature("\r\n\r\n\0\r\nQUIT\n", 12);

// A version 2 header: version/command byte, family/transport byte, then `body`.
std::string v2(uint8_t version_command, uint8_t family_transport, const std::string& body) {
  std::string out = kSignature;
  out += static_cast<char>(version_command);
  out += static_cast<char>(family_transport);
  out += static_cast<char>(body.size() >> 8);
  out += static_cast<char>(body.size() & 0xff);
  return out + body;
}

std::string bytesOf(int family, const char* text) {
  unsigned char raw[16];
  EXPECT_EQ(inet_pton(family, text, raw), 1);
  return std::string(reinterpret_cast<char*>(raw), family == AF_INET ? 4 : 16);
}

std::string port(int value) {
  return std::string{static_cast<char>(value >> 8), static_cast<char>(value & 0xff)};
}

TEST(ProxyV1, Tcp4) {
  ProxyHeader h = parse("PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\nGET / HTTP/1.1\r\n");
  ASSERT_EQ(h.status, Status::kDone) << h.error;
  EXPECT_EQ(h.consumed, 45u);
  EXPECT_TRUE(h.has_addresses);
  EXPECT_FALSE(h.unix_family);
  EXPECT_EQ(h.source.host, "192.0.2.1");
  EXPECT_EQ(h.source.port, 56324);
  EXPECT_EQ(h.destination.host, "198.51.100.2");
  EXPECT_EQ(h.destination.port, 443);
}

TEST(ProxyV1, Tcp6AndTheLongestLine) {
  ProxyHeader h = parse("PROXY TCP6 2001:db8::1 ::1 0 65535\r\n");
  ASSERT_EQ(h.status, Status::kDone) << h.error;
  EXPECT_EQ(h.source.host, "2001:db8::1");
  EXPECT_EQ(h.source.port, 0);
  EXPECT_EQ(h.destination.port, 65535);
  std::string longest =
      "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
      "65535 65535\r\n";
  ASSERT_EQ(longest.size(), 104u);
  EXPECT_EQ(parse(longest).status, Status::kDone);
}

TEST(ProxyV1, UnknownCarriesNoAddresses) {
  ProxyHeader h = parse("PROXY UNKNOWN\r\nGET");
  ASSERT_EQ(h.status, Status::kDone);
  EXPECT_EQ(h.consumed, 15u);
  EXPECT_FALSE(h.has_addresses);
  h = parse("PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n");
  ASSERT_EQ(h.status, Status::kDone);
  EXPECT_FALSE(h.has_addresses);
}

TEST(ProxyV1, EveryPrefixNeedsMore) {
  std::string line = "PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n";
  for (size_t n = 0; n < line.size(); ++n) {
    EXPECT_EQ(parse(line.substr(0, n)).status, Status::kNeedMore) << n;
  }
}

TEST(ProxyV1, Invalid) {
  for (const char* bad : {
           "PROXY TCP4 192.0.2.1 198.51.100.2 56324\r\n",        // a field missing
           "PROXY TCP4 192.0.2.1 198.51.100.2 56324 443 1\r\n",  // one too many
           "PROXY TCP4 2001:db8::1 198.51.100.2 1 2\r\n",        // wrong family
           "PROXY TCP6 192.0.2.1 ::1 1 2\r\n",
           "PROXY TCP4 192.0.2.1 198.51.100.2 65536 1\r\n",  // port range
           "PROXY TCP4 192.0.2.1 198.51.100.2 080 1\r\n",    // leading zero
           "PROXY TCP4 192.0.2.1 198.51.100.2 -1 1\r\n",
           "PROXY TCP4  192.0.2.1 198.51.100.2 1 2\r\n",  // two spaces
           "PROXY UDP4 192.0.2.1 198.51.100.2 1 2\r\n",
           "PROXY \r\n",
           "PROXY TCP4 192.0.2.1 198.51.100.2 1 2\n",  // LF without CR
           "PROXY UNKNOWN x\ny\r\n",                   // a bare LF inside, even after UNKNOWN
           "PROXY UNKNOWN x\ry\r\n",
           "proxy TCP4 192.0.2.1 198.51.100.2 1 2\r\n",
           "GET / HTTP/1.1\r\n",
       }) {
    ProxyHeader h = parse(bad);
    EXPECT_EQ(h.status, Status::kError) << bad;
    EXPECT_STRNE(h.error, "") << bad;
  }
}

TEST(ProxyV1, OversizedLineIsAnError) {
  std::string line = "PROXY UNKNOWN " + std::string(100, 'x');
  EXPECT_EQ(parse(line.substr(0, 106)).status, Status::kNeedMore);
  EXPECT_EQ(parse(line).status, Status::kError);
  EXPECT_EQ(parse(line + "\r\n").status, Status::kError);
}

TEST(ProxyV2, Inet) {
  std::string body =
      bytesOf(AF_INET, "192.0.2.1") + bytesOf(AF_INET, "198.51.100.2") + port(56324) + port(443);
  std::string bytes = v2(0x21, 0x11, body) + "GET";
  ProxyHeader h = parse(bytes);
  ASSERT_EQ(h.status, Status::kDone) << h.error;
  EXPECT_EQ(h.consumed, 16u + 12u);
  EXPECT_TRUE(h.has_addresses);
  EXPECT_EQ(h.source.host, "192.0.2.1");
  EXPECT_EQ(h.source.port, 56324);
  EXPECT_EQ(h.destination.host, "198.51.100.2");
  EXPECT_EQ(h.destination.port, 443);
  for (size_t n = 0; n < 28; ++n) {
    EXPECT_EQ(parse(bytes.substr(0, n)).status, Status::kNeedMore) << n;
  }
}

TEST(ProxyV2, Inet6WithTlvsSkipped) {
  std::string body =
      bytesOf(AF_INET6, "2001:db8::1") + bytesOf(AF_INET6, "2001:db8::2") + port(1234) + port(8443);
  std::string tlvs = std::string(
                         "\x04\x00\x03"
                         "abc",
                         6) +
                     std::string("\xea\x00\x01z", 4);
  ProxyHeader h = parse(v2(0x21, 0x21, body + tlvs) + "rest");
  ASSERT_EQ(h.status, Status::kDone) << h.error;
  EXPECT_EQ(h.consumed, 16u + 36u + 10u);
  EXPECT_EQ(h.source.host, "2001:db8::1");
  EXPECT_EQ(h.source.port, 1234);
  EXPECT_EQ(h.destination.host, "2001:db8::2");
  EXPECT_EQ(h.destination.port, 8443);
}

TEST(ProxyV2, Unix) {
  std::string source(108, '\0');
  std::string destination(108, '\0');
  source.replace(0, 9, "/run/a.sk");
  destination.replace(0, 9, "/run/b.sk");
  ProxyHeader h = parse(v2(0x21, 0x31, source + destination));
  ASSERT_EQ(h.status, Status::kDone) << h.error;
  EXPECT_TRUE(h.unix_family);
  EXPECT_EQ(h.source.host, "/run/a.sk");
  EXPECT_EQ(h.source.port, -1);
  EXPECT_EQ(h.destination.host, "/run/b.sk");
}

TEST(ProxyV2, LocalAndUnspecCarryNoAddresses) {
  ProxyHeader h = parse(v2(0x20, 0x00, ""));
  ASSERT_EQ(h.status, Status::kDone) << h.error;
  EXPECT_EQ(h.consumed, 16u);
  EXPECT_FALSE(h.has_addresses);
  // LOCAL with an address block: skipped as a whole.
  std::string body =
      bytesOf(AF_INET, "192.0.2.1") + bytesOf(AF_INET, "198.51.100.2") + port(1) + port(2);
  h = parse(v2(0x20, 0x11, body));
  ASSERT_EQ(h.status, Status::kDone);
  EXPECT_EQ(h.consumed, 28u);
  EXPECT_FALSE(h.has_addresses);
  h = parse(v2(0x21, 0x00, "xyz"));
  ASSERT_EQ(h.status, Status::kDone);
  EXPECT_EQ(h.consumed, 19u);
  EXPECT_FALSE(h.has_addresses);
}

TEST(ProxyV2, Invalid) {
  std::string inet =
      bytesOf(AF_INET, "192.0.2.1") + bytesOf(AF_INET, "198.51.100.2") + port(1) + port(2);
  EXPECT_EQ(parse(v2(0x11, 0x11, inet)).status, Status::kError);  // version 1 in a v2 head
  EXPECT_EQ(parse(v2(0x31, 0x11, inet)).status, Status::kError);  // version 3
  EXPECT_EQ(parse(v2(0x22, 0x11, inet)).status, Status::kError);  // command 2
  EXPECT_EQ(parse(v2(0x21, 0x41, inet)).status, Status::kError);  // family 4
  EXPECT_EQ(parse(v2(0x21, 0x13, inet)).status, Status::kError);  // transport 3
  EXPECT_EQ(parse(v2(0x21, 0x12, inet)).status, Status::kError);  // DGRAM
  EXPECT_EQ(parse(v2(0x21, 0x11, inet.substr(0, 11))).status, Status::kError);  // too short
  EXPECT_EQ(parse(v2(0x21, 0x21, inet)).status, Status::kError);  // INET6 needs 36 bytes
  std::string bad_signature = v2(0x21, 0x11, inet);
  bad_signature[5] = 'X';
  EXPECT_EQ(parse(bad_signature).status, Status::kError);
  EXPECT_EQ(parse(std::string("\r\n\r\nX", 5)).status, Status::kError);
}

TEST(ProxyV2, TruncatedNeedsMoreUpToItsDeclaredLength) {
  std::string body(1000, 'x');
  std::string header = v2(0x20, 0x00, body);
  EXPECT_EQ(parse(header.substr(0, header.size() - 1)).status, Status::kNeedMore);
  EXPECT_EQ(parse(header).status, Status::kDone);
  // The largest length the format can say is accepted (the caller bounds its buffer by it).
  std::string big = v2(0x20, 0x00, std::string(65535, '\0'));
  EXPECT_EQ(big.size(), kProxyHeaderMax);
  EXPECT_EQ(parse(big).consumed, kProxyHeaderMax);
}

}  // namespace
}  // namespace asgid::net
