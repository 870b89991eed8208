#include "config/command_line.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <vector>

namespace asgid::config {
namespace {

CommandLine parse(std::initializer_list<const char*> args) {
  std::vector<const char*> argv = {"asgid"};
  argv.insert(argv.end(), args);
  return parseCommandLine(static_cast<int>(argv.size()), argv.data());
}

Settings apply(std::initializer_list<const char*> args) {
  Settings settings;
  applyCommandLine(parse(args), settings);
  return settings;
}

std::string errorOf(std::initializer_list<const char*> args) {
  try {
    apply(args);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

TEST(CommandLineTest, KeepsValuesInOrder) {
  CommandLine command_line = parse({"--port", "1", "main:app", "--no-access-log", "--port=2"});
  ASSERT_EQ(command_line.values.size(), 4u);
  EXPECT_EQ(command_line.values[0].flag, "--port");
  EXPECT_EQ(command_line.values[0].text, "1");
  EXPECT_EQ(command_line.values[1].flag, "APP");
  EXPECT_EQ(command_line.values[1].text, "main:app");
  EXPECT_EQ(command_line.values[2].flag, "--no-access-log");
  EXPECT_EQ(command_line.values[2].text, "false");
  EXPECT_EQ(command_line.values[3].text, "2");
  EXPECT_FALSE(command_line.help);
  EXPECT_FALSE(command_line.version);
}

TEST(CommandLineTest, AppliesEveryKindOfRow) {
  Settings s = apply({"pkg:app", "--host", "0.0.0.0", "--port", "9000", "--lifespan", "off",
                      "--timeout-keep-alive", "2.5", "--factory", "--log-level", "debug"});
  EXPECT_EQ(s.app, "pkg:app");
  EXPECT_EQ(s.host, "0.0.0.0");
  EXPECT_EQ(s.port, 9000);
  EXPECT_EQ(s.lifespan, Lifespan::kOff);
  EXPECT_DOUBLE_EQ(s.timeout_keep_alive, 2.5);
  EXPECT_TRUE(s.factory);
  EXPECT_EQ(s.log_level, LogLevel::kDebug);
}

TEST(CommandLineTest, LastOfARepeatedFlagWins) {
  EXPECT_EQ(apply({"--port", "1", "--port", "2"}).port, 2);
}

TEST(CommandLineTest, SwitchPairs) {
  EXPECT_FALSE(apply({"--no-access-log"}).access_log);
  EXPECT_TRUE(apply({"--no-access-log", "--access-log"}).access_log);
  EXPECT_FALSE(apply({"--access-log", "--no-access-log"}).access_log);
  EXPECT_FALSE(apply({"--no-server-header"}).server_header);
  EXPECT_FALSE(apply({"--no-date-header"}).date_header);
  EXPECT_TRUE(apply({"--no-date-header", "--date-header"}).date_header);
}

TEST(CommandLineTest, RepeatedHeadersAddUp) {
  Settings s = apply({"--header", "x-a: 1", "--header=x-b:2", "--header", "x-a: 3"});
  ASSERT_EQ(s.headers.size(), 3u);
  EXPECT_EQ(s.headers[0], std::make_pair(std::string("x-a"), std::string("1")));
  EXPECT_EQ(s.headers[1], std::make_pair(std::string("x-b"), std::string("2")));
  EXPECT_EQ(s.headers[2].second, "3");
}

TEST(CommandLineTest, HeadersReplaceThoseFromLowerSources) {
  Settings settings;
  settings.headers = {{"from-yaml", "1"}};
  applyCommandLine(parse({"--header", "x-a: b"}), settings);
  ASSERT_EQ(settings.headers.size(), 1u);
  EXPECT_EQ(settings.headers[0].first, "x-a");
}

TEST(CommandLineTest, BadValuesNameTheFlag) {
  EXPECT_EQ(errorOf({"--port", "abc"}), "--port: 'abc' is not an integer");
  EXPECT_EQ(errorOf({"--port", "70000"}), "--port: 70000 is out of range 0..65535");
  EXPECT_EQ(errorOf({"--port", "-1"}), "--port: -1 is out of range 0..65535");
  EXPECT_EQ(errorOf({"--backlog", "0"}), "--backlog: 0 is out of range 1..65535");
  EXPECT_EQ(errorOf({"--timeout-graceful-shutdown", "0"}),
            "--timeout-graceful-shutdown: 0 is out of range (must be > 0 and <= 86400)");
  EXPECT_EQ(errorOf({"--lifespan", "maybe"}), "--lifespan: 'maybe' is not one of auto, on, off");
  EXPECT_EQ(errorOf({"--header", "nocolon"}), "--header: 'nocolon' is not NAME:VALUE (no ':')");
  EXPECT_EQ(errorOf({"main"}), "APP: 'main' is not module:attr (for example main:app)");
}

TEST(CommandLineTest, UnknownOptionsAreErrorsWithASuggestion) {
  EXPECT_EQ(errorOf({"--prot", "80"}), "unknown option '--prot' (did you mean '--port'?)");
  EXPECT_EQ(errorOf({"--no-acess-log"}),
            "unknown option '--no-acess-log' (did you mean '--no-access-log'?)");
  EXPECT_EQ(errorOf({"--timeout-keepalive=3"}),
            "unknown option '--timeout-keepalive' (did you mean '--timeout-keep-alive'?)");
  // uvicorn options asgid does not have yet are not silently accepted.
  // A uvicorn option asgid lacks is named as such, not mistaken for a look-alike.
  EXPECT_EQ(errorOf({"--http2", "main:app"}),
            "option '--http2' (a uvicorn option) is not supported by asgid yet");
  EXPECT_EQ(errorOf({"--ssl-keyfile=key.pem", "main:app"}),
            "option '--ssl-keyfile' (a uvicorn option) is not supported by asgid yet");
  EXPECT_EQ(errorOf({"--frobnicate", "k.pem", "main:app"}), "unknown option '--frobnicate'");
  EXPECT_EQ(errorOf({"-x"}), "unknown option '-x'");
}

TEST(CommandLineTest, OtherArgumentErrors) {
  EXPECT_EQ(errorOf({"main:app", "other:app"}), "unexpected argument 'other:app'");
  // The unknown option is the cause, so it is the one reported.
  EXPECT_EQ(errorOf({"main:app", "--frobnicate", "k.pem"}), "unknown option '--frobnicate'");
  EXPECT_EQ(errorOf({"--access-log=false"}), "--access-log takes no value");
  EXPECT_EQ(errorOf({"--factory=1"}), "--factory takes no value");
  EXPECT_NE(errorOf({"--port"}).find("--port"), std::string::npos);
}

TEST(CommandLineTest, HelpVersionAndConfig) {
  EXPECT_TRUE(parse({"--help"}).help);
  EXPECT_TRUE(parse({"-h"}).help);
  EXPECT_TRUE(parse({"--version"}).version);
  EXPECT_TRUE(parse({"--help", "--bogus"}).help);  // help wins over a typo next to it
  EXPECT_EQ(parse({"--config", "a.yaml", "main:app"}).config_file, "a.yaml");
  EXPECT_EQ(parse({"--config=a.yaml", "--config", "b.yaml"}).config_file, "b.yaml");
}

TEST(CommandLineTest, DoubleDashEndsOptions) {
  EXPECT_EQ(apply({"--", "main:app"}).app, "main:app");
  EXPECT_EQ(errorOf({"main:app", "--", "x"}), "unexpected argument 'x'");
}

}  // namespace
}  // namespace asgid::config
