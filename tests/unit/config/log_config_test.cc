#include "config/log_config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <fstream>
#include <string>

#include "config/settings.h"

namespace asgid::config {
namespace {

using Kind = LogConfigValue::Kind;

class LogConfigTest : public ::testing::Test {
 protected:
  void TearDown() override { unlink(path_.c_str()); }
  std::shared_ptr<const LogConfigValue> read(const std::string& text) {
    std::ofstream(path_) << text;
    return readLogConfig(path_);
  }
  std::string error(const std::string& text) {
    try {
      read(text);
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "accepted";
  }
  static const LogConfigValue& at(const LogConfigValue& map, const std::string& key) {
    for (const auto& [name, value] : map.entries) {
      if (name == key) return value;
    }
    ADD_FAILURE() << "no key " << key;
    static LogConfigValue none;
    return none;
  }

  std::string path_ = "/tmp/asgid-log-config-test-" + std::to_string(getpid()) + ".yaml";
};

TEST_F(LogConfigTest, JsonTypes) {
  auto root = read(R"({"version": 1, "disable_existing_loggers": false, "ratio": 0.5,
    "name": "x\u00e9\/y", "quoted_number": "1", "nothing": null, "list": [1, "two", true]})");
  ASSERT_EQ(root->kind, Kind::kMap);
  EXPECT_EQ(at(*root, "version").kind, Kind::kInt);
  EXPECT_EQ(at(*root, "version").integer, 1);
  EXPECT_EQ(at(*root, "disable_existing_loggers").kind, Kind::kBool);
  EXPECT_FALSE(at(*root, "disable_existing_loggers").boolean);
  EXPECT_EQ(at(*root, "ratio").kind, Kind::kFloat);
  EXPECT_DOUBLE_EQ(at(*root, "ratio").number, 0.5);
  EXPECT_EQ(at(*root, "name").text, "x\xc3\xa9/y");
  EXPECT_EQ(at(*root, "quoted_number").kind, Kind::kString);
  EXPECT_EQ(at(*root, "nothing").kind, Kind::kNull);
  const LogConfigValue& list = at(*root, "list");
  ASSERT_EQ(list.items.size(), 3u);
  EXPECT_EQ(list.items[1].kind, Kind::kString);
  EXPECT_TRUE(list.items[2].boolean);
  // File order is kept (dictConfig does not care, but error messages read better).
  EXPECT_EQ(root->entries.front().first, "version");
}

TEST_F(LogConfigTest, YamlScalarsAsPyYamlTypesThem) {
  auto root = read(
      "version: 1\n"
      "propagate: no\n"
      "on_flag: On\n"
      "size: 0x10\n"
      "mode: 0o644\n"
      "inf: .inf\n"
      "tilde: ~\n"
      "quoted: 'no'\n"
      "format: '%(levelname)s %(message)s'\n"
      "plain: hello world\n"
      "'()': my.factory\n");
  EXPECT_EQ(at(*root, "propagate").kind, Kind::kBool);
  EXPECT_FALSE(at(*root, "propagate").boolean);
  EXPECT_TRUE(at(*root, "on_flag").boolean);
  EXPECT_EQ(at(*root, "size").integer, 16);
  EXPECT_EQ(at(*root, "mode").integer, 0644);
  EXPECT_TRUE(std::isinf(at(*root, "inf").number));
  EXPECT_EQ(at(*root, "tilde").kind, Kind::kNull);
  EXPECT_EQ(at(*root, "quoted").kind, Kind::kString);
  EXPECT_EQ(at(*root, "quoted").text, "no");
  EXPECT_EQ(at(*root, "format").text, "%(levelname)s %(message)s");
  EXPECT_EQ(at(*root, "plain").kind, Kind::kString);
  EXPECT_EQ(at(*root, "()").text, "my.factory");
}

TEST_F(LogConfigTest, ErrorsNameTheFile) {
  std::string syntax = error("{\"version\": 1,\n \"handlers\": [}\n");
  EXPECT_EQ(syntax.rfind(path_ + ":2:", 0), 0u) << syntax;
  EXPECT_NE(error("- a\n- b\n").find("expects a logging dictConfig dictionary"), std::string::npos);
  EXPECT_NE(error("").find("an empty file"), std::string::npos);
  unlink(path_.c_str());
  try {
    readLogConfig(path_);
    FAIL() << "a missing file was accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(path_), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("No such file"), std::string::npos);
  }
}

}  // namespace
}  // namespace asgid::config
