// The proxy and request-body settings through load(): uvicorn's defaults and names, the
// FORWARDED_ALLOW_IPS fallback, the list checked at load time, and --bind proxy:ADDRESS.
#include <string>

#include "config/settings_table.h"
#include "tests/unit/config/load_fixture.h"

namespace asgid::config {
namespace {

using ProxySettingsTest = LoadFixture;

TEST_F(ProxySettingsTest, DefaultsAreUvicorns) {
  Settings s = run({});
  EXPECT_TRUE(s.proxy_headers);
  EXPECT_EQ(s.forwarded_allow_ips, "127.0.0.1,::1");
  EXPECT_FALSE(s.forwarded_header);
  EXPECT_FALSE(s.forwarded_host);
  EXPECT_FALSE(s.proxy_protocol);
  EXPECT_EQ(s.limit_request_body, 0);
}

TEST_F(ProxySettingsTest, CommandLineYamlAndEnvironment) {
  Settings s =
      run({"--no-proxy-headers", "--forwarded-allow-ips", "10.0.0.0/8, unix", "--forwarded-header",
           "--forwarded-host", "--proxy-protocol", "--limit-request-body", "1048576"});
  EXPECT_FALSE(s.proxy_headers);
  EXPECT_EQ(s.forwarded_allow_ips, "10.0.0.0/8, unix");
  EXPECT_TRUE(s.forwarded_header && s.forwarded_host && s.proxy_protocol);
  EXPECT_EQ(s.limit_request_body, 1048576);
  s = run({"--config", writeConfig("forwarded_allow_ips: '*'\nproxy_headers: false\n")});
  EXPECT_EQ(s.forwarded_allow_ips, "*");
  EXPECT_FALSE(s.proxy_headers);
  env_["ASGID_LIMIT_REQUEST_BODY"] = "10";
  env_["ASGID_PROXY_PROTOCOL"] = "true";
  s = run({});
  EXPECT_EQ(s.limit_request_body, 10);
  EXPECT_TRUE(s.proxy_protocol);
}

TEST_F(ProxySettingsTest, ForwardedAllowIpsFallsBackToUvicornsVariable) {
  env_["FORWARDED_ALLOW_IPS"] = "192.168.0.0/16";
  EXPECT_EQ(run({}).forwarded_allow_ips, "192.168.0.0/16");
  EXPECT_EQ(run({"--forwarded-allow-ips", "10.0.0.1"}).forwarded_allow_ips, "10.0.0.1");
  env_["FORWARDED_ALLOW_IPS"] = "10.0.0.1/8";
  EXPECT_NE(errorOf({}).find("'10.0.0.1/8'"), std::string::npos) << errorOf({});
}

TEST_F(ProxySettingsTest, BadEntriesAreConfigErrorsNamingThem) {
  std::string error = errorOf({"--forwarded-allow-ips", "127.0.0.1,proxy.local"});
  EXPECT_NE(error.find("--forwarded-allow-ips"), std::string::npos) << error;
  EXPECT_NE(error.find("'proxy.local'"), std::string::npos) << error;
  error = errorOf({"--config", writeConfig("forwarded_allow_ips: 10.0.0.0/40\n")});
  EXPECT_NE(error.find("'10.0.0.0/40'"), std::string::npos) << error;
  EXPECT_NE(errorOf({"--limit-request-body", "-1"}), "no error");
}

TEST(ProxyBindTest, ProxyPrefixBeforeAnyAddress) {
  EXPECT_EQ(parseBindAddress("proxy:127.0.0.1:8000"), "proxy:127.0.0.1:8000");
  EXPECT_EQ(parseBindAddress("proxy:[::1]:8000"), "proxy:[::1]:8000");
  EXPECT_EQ(parseBindAddress("proxy:unix:/run/a.sock"), "proxy:unix:/run/a.sock");
  EXPECT_EQ(parseBindAddress("proxy:8000"), "proxy:8000");  // the host named proxy
  EXPECT_THROW(parseBindAddress("proxy:[::1]"), ValueError);
  EXPECT_THROW(parseBindAddress("proxy:unix:"), ValueError);
  EXPECT_THROW(parseBindAddress("proxy:host:99999"), ValueError);
  EXPECT_THROW(parseBindAddress("proxy:proxy:1.2.3.4:80"), ValueError);
}

}  // namespace
}  // namespace asgid::config
