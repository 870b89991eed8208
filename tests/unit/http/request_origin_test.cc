// Who a request is from: proxy headers believed from trusted peers only (request_origin.h).
#include "worker/http/request_origin.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace asgid::http {
namespace {

using forwarded::Element;
using forwarded::Node;

RequestHead headWith(std::vector<std::pair<std::string, std::string>> headers) {
  RequestHead head;
  head.method = "GET";
  // Moved in, not assigned from the literal: GCC 12 warns (-Wrestrict, its bug 105329) about
  // the inlined replace that assigning "/" becomes at -O2.
  head.target = std::string("/");
  head.headers = std::move(headers);
  return head;
}

class OriginTest : public ::testing::Test {
 protected:
  RequestOrigin origin(RequestHead& head, const std::string& peer = "127.0.0.1",
                       bool unix_peer = false) {
    net::Endpoint from{unix_peer ? "" : peer, unix_peer ? -1 : 40000};
    return requestOrigin(head, from, unix_peer, local_, options_);
  }
  RequestOrigin origin(std::vector<std::pair<std::string, std::string>> headers,
                       const std::string& peer = "127.0.0.1") {
    RequestHead head = headWith(std::move(headers));
    return origin(head, peer);
  }
  void trust(const char* list) { options_.trusted = AddressSet::parse(list); }
  void SetUp() override { trust("127.0.0.1,::1"); }

  ProxyOptions options_;
  net::Endpoint local_{"127.0.0.1", 8000};
};

TEST_F(OriginTest, NoProxyHeadersKeepsTheConnection) {
  RequestOrigin o = origin({{"host", "x"}});
  EXPECT_EQ(o.client.host, "127.0.0.1");
  EXPECT_EQ(o.client.port, 40000);
  EXPECT_TRUE(o.client_known);
  EXPECT_EQ(o.scheme, "http");
  EXPECT_EQ(o.server.port, 8000);
}

TEST_F(OriginTest, TrustedPeerNamesTheClientAndScheme) {
  RequestOrigin o = origin({{"x-forwarded-for", "203.0.113.7"}, {"x-forwarded-proto", "https"}});
  EXPECT_EQ(o.client.host, "203.0.113.7");
  EXPECT_EQ(o.client.port, 0);  // not said: 0, as uvicorn
  EXPECT_EQ(o.scheme, "https");
}

TEST_F(OriginTest, UntrustedPeerIsNotBelieved) {
  RequestOrigin o =
      origin({{"x-forwarded-for", "203.0.113.7"}, {"x-forwarded-proto", "https"}}, "192.0.2.1");
  EXPECT_EQ(o.client.host, "192.0.2.1");
  EXPECT_EQ(o.scheme, "http");
}

TEST_F(OriginTest, NoProxyHeadersFlagIgnoresThem) {
  options_.proxy_headers = false;
  RequestOrigin o = origin({{"x-forwarded-for", "203.0.113.7"}, {"x-forwarded-proto", "https"}});
  EXPECT_EQ(o.client.host, "127.0.0.1");
  EXPECT_EQ(o.scheme, "http");
}

TEST_F(OriginTest, ForwardedForWalksFromTheRightSkippingTrustedHops) {
  trust("127.0.0.1,10.0.0.0/8");
  // client-supplied spoof, then the real client, then two of our proxies.
  RequestOrigin o = origin(
      {{"x-forwarded-for", "1.1.1.1, 198.51.100.9, 10.0.0.5"}, {"x-forwarded-for", "10.1.2.3"}});
  EXPECT_EQ(o.client.host, "198.51.100.9");
  // Every hop trusted: the leftmost.
  o = origin({{"x-forwarded-for", "10.0.0.1,10.0.0.2"}});
  EXPECT_EQ(o.client.host, "10.0.0.1");
  // "*": everyone is trusted, so the leftmost.
  trust("*");
  o = origin({{"x-forwarded-for", "1.1.1.1, 198.51.100.9"}}, "192.0.2.1");
  EXPECT_EQ(o.client.host, "1.1.1.1");
}

TEST_F(OriginTest, ForwardedForPortsAndIpv6) {
  RequestOrigin o = origin({{"x-forwarded-for", "203.0.113.7:4711"}});
  EXPECT_EQ(o.client.host, "203.0.113.7");
  EXPECT_EQ(o.client.port, 4711);
  o = origin({{"x-forwarded-for", "[2001:db8::1]:80"}});
  EXPECT_EQ(o.client.host, "2001:db8::1");
  EXPECT_EQ(o.client.port, 80);
  o = origin({{"x-forwarded-for", "2001:db8::2"}}, "::1");
  EXPECT_EQ(o.client.host, "2001:db8::2");
  EXPECT_EQ(o.client.port, 0);
  // An IPv4-mapped trusted hop is skipped like its IPv4 address.
  o = origin({{"x-forwarded-for", "203.0.113.8, ::ffff:127.0.0.1"}});
  EXPECT_EQ(o.client.host, "203.0.113.8");
}

TEST_F(OriginTest, ForwardedForOddEntries) {
  RequestOrigin o = origin({{"x-forwarded-for", "unknown"}});
  EXPECT_FALSE(o.client_known);
  o = origin({{"x-forwarded-for", " , 203.0.113.7 ,"}});
  EXPECT_EQ(o.client.host, "203.0.113.7");
  o = origin({{"x-forwarded-for", ""}});
  EXPECT_EQ(o.client.host, "127.0.0.1");
  o = origin({{"x-forwarded-for", "203.0.113.7, bad value"}});  // a space inside: not believed
  EXPECT_EQ(o.client.host, "127.0.0.1");
  o = origin({{"x-forwarded-for", "203.0.113.7, caf\xc3\xa9"}});  // not ASCII: not believed
  EXPECT_EQ(o.client.host, "127.0.0.1");
  o = origin({{"x-forwarded-for", "client-name"}});  // a name is never trusted, but is the client
  EXPECT_EQ(o.client.host, "client-name");
}

TEST_F(OriginTest, ForwardedProtoTakesTheNearestProxysWord) {
  EXPECT_EQ(origin({{"x-forwarded-proto", "HTTPS"}}).scheme, "https");
  EXPECT_EQ(origin({{"x-forwarded-proto", "wss"}}).scheme, "https");
  EXPECT_EQ(origin({{"x-forwarded-proto", "ws"}}).scheme, "http");
  EXPECT_EQ(origin({{"x-forwarded-proto", "https, http"}}).scheme, "http");
  EXPECT_EQ(origin({{"x-forwarded-proto", "http"}, {"x-forwarded-proto", "https"}}).scheme,
            "https");
  EXPECT_EQ(origin({{"x-forwarded-proto", "ftp"}}).scheme, "http");
}

TEST_F(OriginTest, UnixPeersAreTrustedOnlyWithUnix) {
  RequestHead head = headWith({{"x-forwarded-for", "203.0.113.7"}});
  RequestOrigin o = origin(head, "", true);
  EXPECT_FALSE(o.client_known);
  trust("unix");
  o = origin(head, "", true);
  EXPECT_TRUE(o.client_known);
  EXPECT_EQ(o.client.host, "203.0.113.7");
}

TEST_F(OriginTest, ForwardedHeaderOnlyWhenAskedAndThenItWins) {
  std::vector<std::pair<std::string, std::string>> headers = {
      {"forwarded", "for=203.0.113.60;proto=https"}, {"x-forwarded-for", "198.51.100.1"}};
  EXPECT_EQ(origin(headers).client.host, "198.51.100.1");
  options_.forwarded_header = true;
  RequestOrigin o = origin(headers);
  EXPECT_EQ(o.client.host, "203.0.113.60");
  EXPECT_EQ(o.scheme, "https");
  EXPECT_EQ(origin(headers, "192.0.2.1").client.host, "192.0.2.1");
}

TEST_F(OriginTest, ForwardedElementsWalkAndTheirProto) {
  options_.forwarded_header = true;
  trust("127.0.0.1,10.0.0.0/8");
  RequestOrigin o = origin({{"forwarded", "for=1.1.1.1;proto=http"},
                            {"forwarded",
                             "for=\"[2001:db8:cafe::17]:4711\";proto=https, "
                             "for=10.0.0.4;proto=http"}});
  EXPECT_EQ(o.client.host, "2001:db8:cafe::17");
  EXPECT_EQ(o.client.port, 4711);
  EXPECT_EQ(o.scheme, "https");
  o = origin({{"forwarded", "for=unknown, for=10.0.0.1"}});
  EXPECT_FALSE(o.client_known);
  o = origin({{"forwarded", "for=\"_hidden:_port\""}});
  EXPECT_EQ(o.client.host, "_hidden");
  EXPECT_EQ(o.client.port, 0);
  o = origin({{"forwarded", "proto=https"}});  // no for=: the connection's client stays
  EXPECT_EQ(o.client.host, "127.0.0.1");
  EXPECT_EQ(o.scheme, "https");
  o = origin({{"forwarded", "for=203.0.113.1;for=203.0.113.2"}});  // repeated: not believed
  EXPECT_EQ(o.client.host, "127.0.0.1");
}

TEST(ForwardedParse, Grammar) {
  std::vector<Element> elements;
  ASSERT_TRUE(forwarded::parseForwarded(
      "For=\"[2001:db8::1]\";Proto=HTTPS;by=203.0.113.43;ext=\"a,b;c\" ,, for=\"192.0.2.43:80\"",
      elements));
  ASSERT_EQ(elements.size(), 2u);
  EXPECT_EQ(elements[0].for_node.host, "2001:db8::1");
  EXPECT_EQ(elements[0].proto, "https");
  EXPECT_EQ(elements[1].for_node.host, "192.0.2.43");
  EXPECT_EQ(elements[1].for_node.port, 80);
  ASSERT_TRUE(forwarded::parseForwarded("for=\"\\\"_q\\\"\"x", elements) == false);
  ASSERT_TRUE(forwarded::parseForwarded("host=\"example.com:8443\"", elements));
  EXPECT_EQ(elements[0].host, "example.com:8443");
  EXPECT_FALSE(elements[0].has_for);
  for (const char* bad :
       {"for", "for=", "for=[2001:db8::1]", "for=\"2001:db8::1\"", "for=\"[2001:db8::1]:\"",
        "for=1.2.3.4:99999", "for=\"unterminated", "for=1.2.3.4 proto=http", "=x", "for=name",
        "for=\"[1.2.3.4]\"", "for=1.2.3.4;proto=http;proto=https",
        "for=192.0.2.43:80" /* a port needs quotes (':' is not a tchar) */}) {
    EXPECT_FALSE(forwarded::parseForwarded(bad, elements)) << bad;
  }
  EXPECT_TRUE(forwarded::parseForwarded("", elements));
  EXPECT_TRUE(elements.empty());
  EXPECT_TRUE(forwarded::parseForwarded(" ; , ", elements));
  EXPECT_TRUE(elements.empty());
}

TEST(ForwardedForEntry, Forms) {
  Node node = forwarded::parseForwardedForEntry("192.0.2.1");
  EXPECT_EQ(node.kind, Node::Kind::kAddress);
  node = forwarded::parseForwardedForEntry("[::1]");
  EXPECT_EQ(node.kind, Node::Kind::kAddress);
  EXPECT_EQ(node.host, "::1");
  EXPECT_EQ(forwarded::parseForwardedForEntry("[::1").kind, Node::Kind::kInvalid);
  EXPECT_EQ(forwarded::parseForwardedForEntry("[nope]:1").kind, Node::Kind::kInvalid);
  EXPECT_EQ(forwarded::parseForwardedForEntry("1:2:3").kind, Node::Kind::kInvalid);
  EXPECT_EQ(forwarded::parseForwardedForEntry("UNKNOWN").kind, Node::Kind::kUnknown);
  node = forwarded::parseForwardedForEntry("192.0.2.1:notaport");
  EXPECT_EQ(node.kind, Node::Kind::kAddress);
  EXPECT_EQ(node.port, 0);
}

TEST_F(OriginTest, ForwardedHostRewritesServerAndHostHeader) {
  RequestHead head = headWith({{"host", "internal:8000"},
                               {"x-forwarded-host", "example.com"},
                               {"x-forwarded-proto", "https"}});
  RequestOrigin o = origin(head);
  EXPECT_EQ(o.server.host, "127.0.0.1");  // off by default
  EXPECT_EQ(head.headers[0].second, "internal:8000");
  options_.forwarded_host = true;
  o = origin(head);
  EXPECT_EQ(o.server.host, "example.com");
  EXPECT_EQ(o.server.port, 443);
  EXPECT_EQ(head.headers[0].second, "example.com");

  head = headWith({{"host", "internal:8000"},
                   {"x-forwarded-host", "a.example, b.example:8443"},
                   {"x-forwarded-port", "9443"}});
  o = origin(head);
  EXPECT_EQ(o.server.host, "b.example");
  EXPECT_EQ(o.server.port, 9443);
  EXPECT_EQ(head.headers[0].second, "b.example:9443");

  head = headWith({{"host", "internal:8000"}, {"x-forwarded-port", "80"}});
  o = origin(head);
  EXPECT_EQ(o.server.host, "internal");
  EXPECT_EQ(o.server.port, 80);
  EXPECT_EQ(head.headers[0].second, "internal");

  head = headWith({{"host", "internal"}, {"x-forwarded-host", "bad host"}});
  o = origin(head);
  EXPECT_EQ(o.server.host, "127.0.0.1");
  EXPECT_EQ(head.headers[0].second, "internal");

  head = headWith({{"host", "internal"}, {"x-forwarded-host", "example.com"}});
  o = origin(head, "192.0.2.1");  // untrusted
  EXPECT_EQ(head.headers[0].second, "internal");

  options_.forwarded_header = true;
  head = headWith({{"host", "internal"}, {"forwarded", "host=\"[2001:db8::5]:8080\";proto=http"}});
  o = origin(head);
  EXPECT_EQ(o.server.host, "2001:db8::5");
  EXPECT_EQ(o.server.port, 8080);
  EXPECT_EQ(head.headers[0].second, "[2001:db8::5]:8080");
}

}  // namespace
}  // namespace asgid::http
