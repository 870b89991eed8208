#include "config/environment.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace asgid::config {
namespace {

EnvLookup fakeEnv(std::map<std::string, std::string> variables) {
  return [variables](const std::string& name) -> std::optional<std::string> {
    auto found = variables.find(name);
    if (found == variables.end()) return std::nullopt;
    return found->second;
  };
}

Settings fromEnv(std::map<std::string, std::string> variables) {
  Settings settings;
  applyEnvironment(fakeEnv(std::move(variables)), settings);
  return settings;
}

std::string errorOf(std::map<std::string, std::string> variables) {
  try {
    fromEnv(std::move(variables));
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

TEST(EnvironmentTest, EveryRowHasAVariable) {
  Settings s = fromEnv({{"ASGID_APP", "main:app"},
                        {"ASGID_PORT", "9001"},
                        {"ASGID_ACCESS_LOG", "false"},
                        {"ASGID_LIFESPAN", "off"},
                        {"ASGID_TIMEOUT_KEEP_ALIVE", "7"},
                        {"ASGID_LIMIT_CONCURRENCY", "12"}});
  EXPECT_EQ(s.app, "main:app");
  EXPECT_EQ(s.port, 9001);
  EXPECT_FALSE(s.access_log);
  EXPECT_EQ(s.lifespan, Lifespan::kOff);
  EXPECT_DOUBLE_EQ(s.timeout_keep_alive, 7.0);
  EXPECT_EQ(s.limit_concurrency, 12);
}

TEST(EnvironmentTest, ListVariableHoldsOneItemPerLine) {
  Settings s = fromEnv({{"ASGID_HEADERS", "x-a: 1, 2\n\nx-b: 3\n"}});
  ASSERT_EQ(s.headers.size(), 2u);
  EXPECT_EQ(s.headers[0].second, "1, 2");
  EXPECT_EQ(s.headers[1].first, "x-b");
}

TEST(EnvironmentTest, EmptyVariableCountsAsUnset) {
  EXPECT_EQ(fromEnv({{"ASGID_PORT", ""}}).port, 8000);
  EXPECT_EQ(readEnv(fakeEnv({{"ASGID_CONFIG", ""}}), kConfigFileEnv), "");
}

TEST(EnvironmentTest, ErrorsNameTheVariable) {
  EXPECT_EQ(errorOf({{"ASGID_PORT", "abc"}}), "ASGID_PORT: 'abc' is not an integer");
  EXPECT_EQ(errorOf({{"ASGID_ACCESS_LOG", "2"}}),
            "ASGID_ACCESS_LOG: '2' is not a boolean (use true or false)");
  EXPECT_EQ(errorOf({{"ASGID_HEADERS", "x-a: 1\r\n"}}),
            "ASGID_HEADERS: 'x-a: 1\\x0d' contains CR, LF or NUL");
}

TEST(EnvironmentTest, VirtualEnvIsTheVenvDefault) {
  Settings settings;
  applyFallbackDefaults(fakeEnv({{"VIRTUAL_ENV", "/srv/venv"}}), settings);
  EXPECT_EQ(settings.venv, "/srv/venv");
  applyEnvironment(fakeEnv({{"ASGID_VENV", "/other"}}), settings);
  EXPECT_EQ(settings.venv, "/other");
}

TEST(EnvironmentTest, ProcessEnvironmentReadsGetenv) {
  ASSERT_EQ(setenv("ASGID_TEST_VARIABLE", "42", 1), 0);
  EXPECT_EQ(processEnvironment()("ASGID_TEST_VARIABLE"), "42");
  unsetenv("ASGID_TEST_VARIABLE");
  EXPECT_EQ(processEnvironment()("ASGID_TEST_VARIABLE"), std::nullopt);
}

}  // namespace
}  // namespace asgid::config
