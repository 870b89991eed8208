#include "common/access_log_format.h"

#include "common/log.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <regex>
#include <stdexcept>
#include <string>

namespace asgid::log {
namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

class AccessLogFormatTest : public ::testing::Test {
 protected:
  AccessLogFormatTest() {
    record_.peer_host = "10.0.0.7";
    record_.peer_port = 51234;
    record_.method = "GET";
    record_.target = "/items/1?color=red&size=2";
    record_.status = 201;
    record_.body_bytes = 1234;
    record_.duration_ns = 2'345'678'901;  // 2.345678901 s
    record_.request_headers = &request_;
    record_.response_headers = &response_;
    record_.extra_response_headers = &extra_;
  }

  std::string render(std::string_view spec, bool color = false) {
    std::string out;
    AccessLogFormat::compile(spec).render(record_, out, color);
    return out;
  }

  Headers request_ = {{"host", "example.test"},
                      {"user-agent", "curl/8.0"},
                      {"referer", "https://ref.test/"},
                      {"x-request-id", "abc123"}};
  Headers response_ = {{"Content-Type", "text/plain"}};
  Headers extra_ = {{"X-Served-By", "asgid-1"}};
  AccessRecord record_;
};

TEST_F(AccessLogFormatTest, DefaultIsTheLineAsgidAlwaysWrote) {
  EXPECT_TRUE(AccessLogFormat::compile("default").isDefault());
  EXPECT_TRUE(AccessLogFormat::compile("").isDefault());
  EXPECT_FALSE(AccessLogFormat::compile("common").isDefault());
  EXPECT_EQ(render("default"),
            "10.0.0.7:51234 - \"GET /items/1?color=red&size=2 HTTP/1.1\" 201 "
            "1234 2345.679ms");
  record_.peer_host = "unix";
  record_.peer_port = -1;
  EXPECT_EQ(render("default").rfind("unix:-1 - \"GET", 0), 0u);
}

TEST_F(AccessLogFormatTest, DefaultEscapesAndShortensAsBefore) {
  std::string target = "/" + std::string(300, 'a') + "\x01\\";
  record_.target = target;
  record_.method = "GET\xff";
  std::string line = render("default");
  EXPECT_EQ(line, "10.0.0.7:51234 - \"" + sanitize(record_.method, 32) + " " + sanitize(target) +
                      " HTTP/1.1\" 201 1234 2345.679ms");
  EXPECT_NE(line.find("GET\\xff /aaa"), std::string::npos);
  EXPECT_NE(line.find("a... HTTP/1.1"), std::string::npos);
}

TEST_F(AccessLogFormatTest, DefaultColoursTheStatusOnlyWhenAsked) {
  EXPECT_NE(render("default", true).find("\" \033[32m201\033[0m 1234"), std::string::npos);
  record_.status = 503;
  EXPECT_NE(render("default", true).find("\033[31m503\033[0m"), std::string::npos);
  EXPECT_EQ(render("default").find('\033'), std::string::npos);
}

TEST_F(AccessLogFormatTest, EveryLetterAtom) {
  EXPECT_EQ(render("%(h)s|%(l)s|%(u)s|%(r)s|%(m)s|%(U)s|%(q)s|%(H)s|%(s)s|%(b)s|%(B)s|%(f)s|%(a)s"),
            "10.0.0.7|-|-|GET /items/1?color=red&size=2 HTTP/1.1|GET|/items/1|color=red&size=2|"
            "HTTP/1.1|201|1234|1234|https://ref.test/|curl/8.0");
  EXPECT_EQ(render("%(T)s %(M)s %(D)s %(L)s"), "2 2345 2345678 2.345679");
  std::string pid = "<";  // not "<" + to_string(): GCC 12's -Wrestrict false positive (105329)
  pid += std::to_string(getpid());
  EXPECT_EQ(render("%(p)s"), pid + ">");
  std::regex time(R"(\[\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\])");
  EXPECT_TRUE(std::regex_match(render("%(t)s"), time)) << render("%(t)s");
}

TEST_F(AccessLogFormatTest, HeaderAtomsAreCaseInsensitiveAndDashWhenMissing) {
  EXPECT_EQ(render("%({X-Request-ID}i)s %({content-type}o)s %({x-served-by}o)s %({nope}i)s "
                   "%({nope}o)s"),
            "abc123 text/plain asgid-1 - -");
}

TEST_F(AccessLogFormatTest, EnvironmentAtomIsReadOnceAtCompileTime) {
  setenv("ASGID_TEST_REGION", "eu-1", 1);
  AccessLogFormat format = AccessLogFormat::compile("%({ASGID_TEST_REGION}e)s %(s)s");
  setenv("ASGID_TEST_REGION", "changed", 1);
  std::string out;
  format.render(record_, out);
  EXPECT_EQ(out, "eu-1 201");
  unsetenv("ASGID_TEST_REGION");
  EXPECT_EQ(render("%({ASGID_TEST_REGION}e)s"), "-");
}

TEST_F(AccessLogFormatTest, LiteralsAndPercentSigns) {
  EXPECT_EQ(render("status=%(s)s 100%% done"), "status=201 100% done");
  // Compiled into pieces: literal, atom, literal.
  AccessLogFormat format = AccessLogFormat::compile("a %(s)s b");
  ASSERT_EQ(format.pieces().size(), 3u);
  EXPECT_EQ(format.pieces()[0].text, "a ");
  EXPECT_EQ(format.pieces()[1].atom, AccessLogFormat::Atom::kStatus);
  EXPECT_EQ(format.pieces()[2].text, " b");
}

TEST_F(AccessLogFormatTest, Presets) {
  std::regex common(
      R"re(10\.0\.0\.7 - - \[[^\]]+\] "GET /items/1\?color=red&size=2 HTTP/1\.1" 201 1234)re");
  EXPECT_TRUE(std::regex_match(render("common"), common)) << render("common");
  std::regex combined(
      R"re(10\.0\.0\.7 - - \[[^\]]+\] "GET /items/1\?color=red&size=2 HTTP/1\.1" )re"
      R"re(201 1234 "https://ref\.test/" "curl/8\.0")re");
  EXPECT_TRUE(std::regex_match(render("combined"), combined)) << render("combined");
  record_.body_bytes = 0;
  EXPECT_NE(render("common").find("\" 201 -"), std::string::npos);
}

TEST_F(AccessLogFormatTest, JsonPreset) {
  std::string line = render("json");
  EXPECT_EQ(line.rfind("{\"ts\":\"", 0), 0u) << line;
  EXPECT_NE(line.find(",\"pid\":" + std::to_string(getpid()) +
                      ",\"client\":\"10.0.0.7\",\"client_port\":51234,\"method\":\"GET\","
                      "\"path\":\"/items/1\",\"query\":\"color=red&size=2\",\"protocol\":"
                      "\"HTTP/1.1\",\"status\":201,\"bytes\":1234,\"duration_ms\":2345.679,"
                      "\"referer\":\"https://ref.test/\",\"user_agent\":\"curl/8.0\","
                      "\"request_id\":\"abc123\"}"),
            std::string::npos)
      << line;
  request_.clear();
  record_.method = "G\"ET\n";
  line = render("json");
  EXPECT_NE(line.find("\"method\":\"G\\\"ET\\n\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"referer\":null,\"user_agent\":null,\"request_id\":null}"),
            std::string::npos)
      << line;
}

TEST_F(AccessLogFormatTest, ClientBytesAreEscaped) {
  record_.target = "/a\"b\\c\r\n\x01\xff";
  request_ = {{"user-agent", "evil\" \"x"}};
  EXPECT_EQ(render("%(U)s %(a)s"), "/a\\x22b\\x5cc\\x0d\\x0a\\x01\\xff evil\\x22 \\x22x");
}

TEST_F(AccessLogFormatTest, BasicAuthUser) {
  request_.push_back({"authorization", "Basic YWxpY2U6c2VjcmV0"});  // alice:secret
  EXPECT_EQ(render("%(u)s"), "alice");
  EXPECT_EQ(basicAuthUser("Bearer xyz"), "");
  EXPECT_EQ(basicAuthUser("basic Ym9i"), "bob");
  EXPECT_EQ(basicAuthUser("Basic !!!"), "");
}

TEST_F(AccessLogFormatTest, BadFormatsAreRefusedWithTheAtom) {
  const auto message = [](std::string_view spec) {
    try {
      AccessLogFormat::compile(spec);
    } catch (const std::invalid_argument& error) {
      return std::string(error.what());
    }
    return std::string("accepted");
  };
  EXPECT_EQ(message("%(z)s"), "unknown atom %(z)s");
  EXPECT_EQ(message("%(hh)s"), "unknown atom %(hh)s");
  EXPECT_NE(message("%(h"), "accepted");
  EXPECT_NE(message("50% off"), "accepted");
  EXPECT_NE(message("%({}i)s"), "accepted");
  EXPECT_NE(message("%({x}z)s"), "accepted");
}

}  // namespace
}  // namespace asgid::log
