// loadYamlFile() (config/yaml_loader.cc): keys, value types, and every error form.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "config/settings.h"

namespace asgid::config {
namespace {

class YamlLoaderTest : public testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = testing::TempDir() + "asgid-yaml-XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Writes `text` to a file in the test's directory and returns its path.
  std::string write(const std::string& text, const std::string& name = "asgid.yaml") {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }

  Settings load(const std::string& text) { return loadYamlFile(write(text), Settings{}); }

  // The error for `text`, with the file's path replaced by "FILE".
  std::string errorOf(const std::string& text) {
    try {
      load(text);
    } catch (const ConfigError& e) {
      std::string message = e.what();
      std::string path = dir_ + "/asgid.yaml";
      if (message.starts_with(path)) message.replace(0, path.size(), "FILE");
      return message;
    }
    return "no error";
  }

  std::string dir_;
};

TEST_F(YamlLoaderTest, ReadsEveryKindOfValue) {
  Settings s = load(
      "app: main:app\n"
      "host: 0.0.0.0\n"
      "port: 8080\n"
      "access_log: false\n"
      "factory: yes\n"
      "lifespan: on\n"
      "timeout_keep_alive: 2.5\n"
      "headers:\n"
      "  - 'x-a: 1'\n"
      "  - \"x-b: two, three\"\n");
  EXPECT_EQ(s.app, "main:app");
  EXPECT_EQ(s.host, "0.0.0.0");
  EXPECT_EQ(s.port, 8080);
  EXPECT_FALSE(s.access_log);
  EXPECT_TRUE(s.factory);
  EXPECT_EQ(s.lifespan, Lifespan::kOn);
  EXPECT_DOUBLE_EQ(s.timeout_keep_alive, 2.5);
  ASSERT_EQ(s.headers.size(), 2u);
  EXPECT_EQ(s.headers[1], std::make_pair(std::string("x-b"), std::string("two, three")));
  EXPECT_EQ(s.limit_request_fields, 100);  // untouched keys keep the base's value
}

TEST_F(YamlLoaderTest, OverlaysTheBaseAndRecordsTheFile) {
  Settings base;
  base.port = 1234;
  base.host = "::1";
  base.headers = {{"old", "1"}};
  std::string path = write("host: 10.0.0.1\nheaders: []\n");
  Settings s = loadYamlFile(path, base);
  EXPECT_EQ(s.port, 1234);
  EXPECT_EQ(s.host, "10.0.0.1");
  EXPECT_TRUE(s.headers.empty());  // an empty list replaces the base's
  EXPECT_EQ(s.config_file, path);
}

TEST_F(YamlLoaderTest, EmptyFileChangesNothing) {
  EXPECT_EQ(load("").port, 8000);
  EXPECT_EQ(load("# only a comment\n").port, 8000);
}

TEST_F(YamlLoaderTest, BadValueGivesFileLineColumnAndKey) {
  EXPECT_EQ(errorOf("host: a\nport: abc\n"), "FILE:2:7: port: 'abc' is not an integer");
  EXPECT_EQ(errorOf("port: 70000\n"), "FILE:1:7: port: 70000 is out of range 0..65535");
  EXPECT_EQ(errorOf("access_log: maybe\n"),
            "FILE:1:13: access_log: 'maybe' is not a boolean (use true or false)");
  EXPECT_EQ(errorOf("headers:\n  - 'x-a: b'\n  - nocolon\n"),
            "FILE:3:5: headers: 'nocolon' is not NAME:VALUE (no ':')");
}

TEST_F(YamlLoaderTest, UnknownKeyGivesPositionAndSuggestion) {
  EXPECT_EQ(errorOf("port: 1\nprot: 2\n"), "FILE:2:1: unknown key 'prot' (did you mean 'port'?)");
  EXPECT_EQ(errorOf("access-log: false\n"),
            "FILE:1:1: unknown key 'access-log' (did you mean 'access_log'?)");
  EXPECT_EQ(errorOf("  \nssl_keyfile: k.pem\n"), "FILE:2:1: unknown key 'ssl_keyfile'");
}

TEST_F(YamlLoaderTest, WrongTypesAreNamed) {
  EXPECT_EQ(errorOf("port: [1, 2]\n"), "FILE:1:7: port: expected a single value, got a list");
  EXPECT_EQ(errorOf("host:\n  a: b\n"), "FILE:2:3: host: expected a single value, got a map");
  EXPECT_EQ(errorOf("headers: 'x-a: b'\n"),
            "FILE:1:10: headers: expected a list, got a single value");
  EXPECT_EQ(errorOf("headers:\n  - {x-a: b}\n"),
            "FILE:2:5: headers: expected a list of strings, got a map");
  EXPECT_EQ(errorOf("port:\n"), "FILE:1:1: port: no value given");
  EXPECT_EQ(errorOf("- port\n"), "FILE:1:1: expected settings as key: value lines, got a list");
  EXPECT_EQ(errorOf("just text\n"),
            "FILE:1:1: expected settings as key: value lines, got a single value");
  EXPECT_EQ(errorOf("[a]: 1\n"), "FILE:1:1: expected a setting name, got a list");
}

TEST_F(YamlLoaderTest, DuplicateKeyIsAnError) {
  EXPECT_EQ(errorOf("port: 1\nhost: a\nport: 2\n"),
            "FILE:3:1: port is given twice (first at line 1)");
}

TEST_F(YamlLoaderTest, SyntaxErrorGivesPosition) {
  std::string message = errorOf("port: 1\nhost: [a\n");
  EXPECT_TRUE(message.starts_with("FILE:3:1: ")) << message;
  message = errorOf("port: 1\n  bad: indent\n");
  EXPECT_TRUE(message.starts_with("FILE:2:")) << message;
}

TEST_F(YamlLoaderTest, MissingFileIsNamed) {
  std::string path = dir_ + "/missing.yaml";
  try {
    loadYamlFile(path, Settings{});
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              "cannot open config file '" + path + "': No such file or directory");
  }
}

}  // namespace
}  // namespace asgid::config
