#include "common/address_set.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace asgid {
namespace {

TEST(IpAddress, ParsesBothFamiliesAndUnmapsIpv4) {
  auto v4 = IpAddress::parse("10.1.2.3");
  ASSERT_TRUE(v4);
  EXPECT_TRUE(v4->v4);
  auto mapped = IpAddress::parse("::ffff:10.1.2.3");
  ASSERT_TRUE(mapped);
  EXPECT_EQ(*mapped, *v4);
  EXPECT_EQ(*IpAddress::parse("::FFFF:a01:203"), *v4);
  auto v6 = IpAddress::parse("2001:db8::1");
  ASSERT_TRUE(v6);
  EXPECT_FALSE(v6->v4);
  for (const char* bad : {"", "10.1.2", "10.1.2.256", "1.2.3.4:80", "[::1]", "::1%lo", "localhost",
                          "2001:db8::1::2", " 10.0.0.1"}) {
    EXPECT_FALSE(IpAddress::parse(bad)) << bad;
  }
}

TEST(AddressSet, UvicornsDefaultTrustsLoopbackOnly) {
  AddressSet set = AddressSet::parse("127.0.0.1,::1");
  EXPECT_TRUE(set.contains("127.0.0.1"));
  EXPECT_TRUE(set.contains("::1"));
  EXPECT_TRUE(set.contains("::ffff:127.0.0.1"));
  EXPECT_FALSE(set.contains("127.0.0.2"));
  EXPECT_FALSE(set.contains("10.0.0.1"));
  EXPECT_FALSE(set.containsUnix());
  EXPECT_FALSE(set.contains("not an address"));
}

TEST(AddressSet, Ipv4Networks) {
  AddressSet set = AddressSet::parse(" 10.0.0.0/8 , 192.168.4.0/22,172.16.5.4/32");
  EXPECT_TRUE(set.contains("10.255.255.255"));
  EXPECT_TRUE(set.contains("10.0.0.0"));
  EXPECT_FALSE(set.contains("11.0.0.0"));
  EXPECT_TRUE(set.contains("192.168.7.200"));
  EXPECT_FALSE(set.contains("192.168.8.1"));
  EXPECT_FALSE(set.contains("192.168.3.255"));
  EXPECT_TRUE(set.contains("172.16.5.4"));
  EXPECT_FALSE(set.contains("172.16.5.5"));
  EXPECT_TRUE(set.contains("::ffff:10.9.8.7"));  // a dual-stack socket's view of an IPv4 peer
  EXPECT_FALSE(set.contains("::a09:807"));       // IPv4-compatible is not IPv4-mapped
}

TEST(AddressSet, Ipv6Networks) {
  AddressSet set = AddressSet::parse("2001:db8::/33,fd00::/8,fe80::1/128");
  EXPECT_TRUE(set.contains("2001:db8:7fff::1"));
  EXPECT_FALSE(set.contains("2001:db8:8000::1"));
  EXPECT_TRUE(set.contains("fdff:ffff::1"));
  EXPECT_FALSE(set.contains("fe00::1"));
  EXPECT_TRUE(set.contains("fe80::1"));
  EXPECT_FALSE(set.contains("fe80::2"));
  EXPECT_FALSE(set.contains("10.0.0.1"));
}

TEST(AddressSet, FamiliesStayApart) {
  EXPECT_FALSE(AddressSet::parse("::/0").contains("10.0.0.1"));
  EXPECT_TRUE(AddressSet::parse("::/0").contains("2001:db8::1"));
  EXPECT_FALSE(AddressSet::parse("0.0.0.0/0").contains("2001:db8::1"));
  EXPECT_TRUE(AddressSet::parse("0.0.0.0/0").contains("::ffff:8.8.8.8"));
  // An IPv4-mapped network is the IPv4 network it carries.
  AddressSet mapped = AddressSet::parse("::ffff:10.0.0.0/104");
  EXPECT_TRUE(mapped.contains("10.20.30.40"));
  EXPECT_FALSE(mapped.contains("11.0.0.1"));
}

TEST(AddressSet, StarAndUnix) {
  AddressSet any = AddressSet::parse("*");
  EXPECT_TRUE(any.contains("203.0.113.9"));
  EXPECT_TRUE(any.contains("garbage"));
  EXPECT_TRUE(any.containsUnix());
  AddressSet unix_only = AddressSet::parse("unix");
  EXPECT_TRUE(unix_only.containsUnix());
  EXPECT_FALSE(unix_only.contains("127.0.0.1"));
  AddressSet none = AddressSet::parse("");
  EXPECT_TRUE(none.empty());
  EXPECT_FALSE(none.contains("127.0.0.1"));
  EXPECT_FALSE(none.containsUnix());
  EXPECT_TRUE(AddressSet::parse(" , ,").empty());
}

TEST(AddressSet, BadEntriesAreNamed) {
  auto message = [](const char* text) -> std::string {
    try {
      AddressSet::parse(text);
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "(accepted)";
  };
  EXPECT_EQ(message("127.0.0.1,localhost").rfind("'localhost' is not an IP address", 0), 0u)
      << message("127.0.0.1,localhost");
  EXPECT_NE(message("10.0.0.0/33").find("'10.0.0.0/33' has a prefix length"), std::string::npos);
  EXPECT_NE(message("10.0.0.0/").find("prefix length"), std::string::npos);
  EXPECT_NE(message("10.0.0.0/8x").find("prefix length"), std::string::npos);
  EXPECT_NE(message("10.0.0.0/-1").find("prefix length"), std::string::npos);
  EXPECT_NE(message("::/129").find("0..128"), std::string::npos);
  EXPECT_NE(message("10.0.0.1/8").find("bits set past its prefix"), std::string::npos);
  EXPECT_NE(message("::ffff:10.0.0.0/64").find("IPv4-mapped"), std::string::npos);
  EXPECT_NE(message("[::1]").find("'[::1]'"), std::string::npos);
  EXPECT_NE(message("fe80::1%eth0").find("'fe80::1%eth0'"), std::string::npos);
  EXPECT_NE(message("UNIX").find("'UNIX'"), std::string::npos);
}

}  // namespace
}  // namespace asgid
