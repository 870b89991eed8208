// The logging settings through load(): --log-format, --use-colors/--no-use-colors (unset by
// default), --access-log-format (checked when read), --request-id, --log-config (read and
// parsed with the settings), and what log::Format they make.
#include <fstream>
#include <string>

#include "config/log_config.h"
#include "tests/unit/config/load_fixture.h"

namespace asgid::config {
namespace {

using LoggingSettingsTest = LoadFixture;

TEST_F(LoggingSettingsTest, Defaults) {
  Settings s = run({});
  EXPECT_EQ(s.log_format, LogFormat::kText);
  EXPECT_FALSE(s.use_colors.has_value());
  EXPECT_EQ(s.access_log_format, "default");
  EXPECT_FALSE(s.request_id);
  EXPECT_EQ(s.log_config, "");
  EXPECT_EQ(s.log_config_data, nullptr);
  log::Format format = logFormat(s);
  EXPECT_FALSE(format.json);
  EXPECT_EQ(format.colors, log::Colors::kAuto);
  EXPECT_FALSE(format.access_raw);
}

TEST_F(LoggingSettingsTest, CommandLine) {
  Settings s = run({"--log-format", "json", "--no-use-colors", "--access-log-format", "combined",
                    "--request-id"});
  EXPECT_EQ(s.log_format, LogFormat::kJson);
  EXPECT_EQ(s.use_colors, false);
  EXPECT_EQ(s.access_log_format, "combined");
  EXPECT_TRUE(s.request_id);
  log::Format format = logFormat(s);
  EXPECT_TRUE(format.json);
  EXPECT_EQ(format.colors, log::Colors::kNever);
  EXPECT_TRUE(format.access_raw);
  EXPECT_EQ(logFormat(run({"--use-colors"})).colors, log::Colors::kAlways);
}

TEST_F(LoggingSettingsTest, YamlAndEnvironment) {
  Settings s = run({"--config", writeConfig("log_format: json\nuse_colors: true\n"
                                            "access_log_format: '%(h)s %(s)s'\n")});
  EXPECT_EQ(s.log_format, LogFormat::kJson);
  EXPECT_EQ(s.use_colors, true);
  EXPECT_EQ(s.access_log_format, "%(h)s %(s)s");
  env_["ASGID_USE_COLORS"] = "no";
  env_["ASGID_REQUEST_ID"] = "1";
  env_["ASGID_ACCESS_LOG_FORMAT"] = "json";
  s = run({});
  EXPECT_EQ(s.use_colors, false);
  EXPECT_TRUE(s.request_id);
  EXPECT_EQ(s.access_log_format, "json");
}

TEST_F(LoggingSettingsTest, BadValuesNameTheFlag) {
  EXPECT_NE(errorOf({"--log-format", "xml"}).find("--log-format"), std::string::npos);
  std::string atom = errorOf({"--access-log-format", "%(h)s %(x)s"});
  EXPECT_NE(atom.find("--access-log-format"), std::string::npos) << atom;
  EXPECT_NE(atom.find("unknown atom %(x)s"), std::string::npos) << atom;
  EXPECT_EQ(errorOf({"--use-colors=false"}), "--use-colors takes no value");
}

TEST_F(LoggingSettingsTest, LogConfigIsReadWithTheSettingsAndMadeAbsolute) {
  std::string path = dir_ + "/logging.json";
  std::ofstream(path) << R"({"version": 1, "root": {"level": "DEBUG"}})";
  Settings s = run({"--log-config", path});
  EXPECT_EQ(s.log_config, path);
  ASSERT_NE(s.log_config_data, nullptr);
  EXPECT_EQ(s.log_config_data->entries.size(), 2u);
  std::string missing = errorOf({"--log-config", dir_ + "/missing.yaml"});
  EXPECT_NE(missing.find("missing.yaml"), std::string::npos) << missing;
  std::ofstream(path) << "version: [1\n";
  EXPECT_NE(errorOf({"--log-config", path}).find(path + ":"), std::string::npos);
}

}  // namespace
}  // namespace asgid::config
