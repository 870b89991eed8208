// load(): defaults, the order of the sources, --help and --version.
#include "config/settings.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "config/settings_table.h"

namespace asgid::config {
namespace {

class LoadTest : public testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = testing::TempDir() + "asgid-load-XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string writeConfig(const std::string& text) {
    std::string path = dir_ + "/asgid.yaml";
    std::ofstream(path) << text;
    return path;
  }

  LoadResult run(std::vector<std::string> args) {
    std::vector<const char*> argv = {"asgid"};
    for (const std::string& arg : args) argv.push_back(arg.c_str());
    EnvLookup env = [this](const std::string& name) -> std::optional<std::string> {
      auto found = env_.find(name);
      if (found == env_.end()) return std::nullopt;
      return found->second;
    };
    return load(static_cast<int>(argv.size()), argv.data(), env, out_);
  }

  std::string errorOf(std::vector<std::string> args) {
    try {
      run(std::move(args));
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "no error";
  }

  std::string dir_;
  std::map<std::string, std::string> env_;
  std::ostringstream out_;
};

TEST_F(LoadTest, Defaults) {
  LoadResult result = run({"main:app"});
  EXPECT_EQ(result.action, Action::kServe);
  const Settings& s = result.settings;
  EXPECT_EQ(s.app, "main:app");
  EXPECT_EQ(s.app_dir, ".");
  EXPECT_FALSE(s.factory);
  EXPECT_EQ(s.venv, "");
  EXPECT_EQ(s.lifespan, Lifespan::kAuto);
  EXPECT_EQ(s.root_path, "");
  EXPECT_EQ(s.host, "127.0.0.1");
  EXPECT_EQ(s.port, 8000);
  EXPECT_EQ(s.uds, "");
  EXPECT_EQ(s.backlog, 2048);
  EXPECT_EQ(s.log_level, LogLevel::kInfo);
  EXPECT_TRUE(s.access_log);
  EXPECT_TRUE(s.headers.empty());
  EXPECT_TRUE(s.server_header);
  EXPECT_TRUE(s.date_header);
  EXPECT_DOUBLE_EQ(s.timeout_keep_alive, 5.0);
  EXPECT_DOUBLE_EQ(s.timeout_request_header, 10.0);
  EXPECT_DOUBLE_EQ(s.timeout_graceful_shutdown, 30.0);
  EXPECT_EQ(s.limit_concurrency, 0);
  EXPECT_EQ(s.limit_request_line, 8190);
  EXPECT_EQ(s.limit_request_fields, 100);
  EXPECT_EQ(s.limit_request_field_size, 8190);
  EXPECT_EQ(s.limit_request_headers_size, 65536);
  EXPECT_EQ(s.config_file, "");
  EXPECT_EQ(out_.str(), "");
}

TEST_F(LoadTest, CommandLineOverridesEnvironmentOverridesYamlOverridesDefaults) {
  std::string config = writeConfig(
      "app: yaml:app\nport: 1001\nhost: yaml.host\nbacklog: 11\nheaders: ['from: yaml']\n");
  env_ = {{"ASGID_PORT", "2002"}, {"ASGID_HOST", "env.host"}};
  Settings s = run({"--config", config, "--port", "3003"}).settings;
  EXPECT_EQ(s.port, 3003);        // command line
  EXPECT_EQ(s.host, "env.host");  // environment over YAML
  EXPECT_EQ(s.backlog, 11);       // YAML over default
  EXPECT_EQ(s.app, "yaml:app");   // the app may come from YAML
  EXPECT_EQ(s.limit_request_fields, 100);
  EXPECT_EQ(s.config_file, config);
  ASSERT_EQ(s.headers.size(), 1u);
  EXPECT_EQ(s.headers[0].first, "from");
}

TEST_F(LoadTest, ListsFromAHigherSourceReplaceLowerOnes) {
  std::string config = writeConfig("headers: ['from: yaml']\n");
  env_ = {{"ASGID_HEADERS", "from: env\nalso: env"}};
  Settings s = run({"--config", config, "main:app"}).settings;
  ASSERT_EQ(s.headers.size(), 2u);
  EXPECT_EQ(s.headers[0].second, "env");
  s = run({"--config", config, "main:app", "--header", "from: cli"}).settings;
  ASSERT_EQ(s.headers.size(), 1u);
  EXPECT_EQ(s.headers[0].second, "cli");
}

TEST_F(LoadTest, AppFromEnvironmentAndConfigFromAsgidConfig) {
  env_ = {{"ASGID_APP", "env:app"}, {"ASGID_CONFIG", writeConfig("port: 4004\n")}};
  Settings s = run({}).settings;
  EXPECT_EQ(s.app, "env:app");
  EXPECT_EQ(s.port, 4004);
  EXPECT_EQ(run({"cli:app"}).settings.app, "cli:app");
}

TEST_F(LoadTest, VenvDefaultsToVirtualEnv) {
  env_ = {{"VIRTUAL_ENV", "/srv/venv"}};
  EXPECT_EQ(run({"main:app"}).settings.venv, "/srv/venv");
  EXPECT_EQ(run({"main:app", "--venv", "/opt/venv"}).settings.venv, "/opt/venv");
  std::string config = writeConfig("venv: /yaml/venv\n");
  EXPECT_EQ(run({"main:app", "--config", config}).settings.venv, "/yaml/venv");
}

TEST_F(LoadTest, NoAppIsAnError) {
  EXPECT_TRUE(errorOf({}).starts_with("no app given")) << errorOf({});
  EXPECT_TRUE(errorOf({"--port", "1"}).starts_with("no app given"));
}

TEST_F(LoadTest, ErrorsFromEachSourceSayWhere) {
  std::string config = writeConfig("app: main:app\nport: x\n");
  EXPECT_EQ(errorOf({"--config", config}), config + ":2:7: port: 'x' is not an integer");
  env_ = {{"ASGID_BACKLOG", "0"}};
  EXPECT_EQ(errorOf({"main:app"}), "ASGID_BACKLOG: 0 is out of range 1..65535");
  env_.clear();
  EXPECT_EQ(errorOf({"main:app", "--port", "abc"}), "--port: 'abc' is not an integer");
  EXPECT_EQ(errorOf({"main:app", "--config", dir_ + "/none.yaml"}),
            "cannot open config file '" + dir_ + "/none.yaml': No such file or directory");
}

TEST_F(LoadTest, VersionPrintsAndExits) {
  LoadResult result = run({"--version"});
  EXPECT_EQ(result.action, Action::kExitOk);
  EXPECT_EQ(out_.str(), "asgid " ASGID_VERSION "\n");
}

TEST_F(LoadTest, HelpPrintsEveryOptionWithItsDefaultAndExits) {
  env_ = {{"ASGID_PORT", "bad"}};  // not read: help does not need valid settings
  LoadResult result = run({"--help"});
  EXPECT_EQ(result.action, Action::kExitOk);
  std::string help = out_.str();
  EXPECT_EQ(help, helpText());
  EXPECT_TRUE(help.starts_with("Usage: asgid [OPTIONS] APP\n"));
  for (const SettingSpec& spec : settingsTable()) {
    SCOPED_TRACE(spec.name);
    EXPECT_NE(help.find("  " + spec.flag), std::string::npos);
    if (!spec.negative_flag.empty()) {
      EXPECT_NE(help.find(spec.negative_flag), std::string::npos);
    }
    EXPECT_NE(help.find("[env: " + spec.env + "]"), std::string::npos);
  }
  EXPECT_NE(help.find("--port INTEGER"), std::string::npos);
  EXPECT_NE(help.find("[default: 8000] [range: 0..65535]"), std::string::npos);
  EXPECT_NE(help.find("[default: $VIRTUAL_ENV]"), std::string::npos);
  EXPECT_NE(help.find("--config FILE"), std::string::npos);
  for (size_t start = 0, end; start < help.size(); start = end + 1) {
    end = help.find('\n', start);
    EXPECT_LE(end - start, 80u) << help.substr(start, end - start);
  }
}

TEST_F(LoadTest, EnumNames) {
  EXPECT_EQ(toString(Lifespan::kAuto), "auto");
  EXPECT_EQ(toString(Lifespan::kOff), "off");
  EXPECT_EQ(toString(LogLevel::kWarning), "warning");
  EXPECT_EQ(toString(LogLevel::kCritical), "critical");
}

}  // namespace
}  // namespace asgid::config
