// The --reload settings through load(): defaults, the command line, YAML, the environment, and
// the one combination refused (--reload with --preload).
#include <string>
#include <vector>

#include "tests/unit/config/load_fixture.h"

namespace asgid::config {
namespace {

using ReloadSettingsTest = LoadFixture;
using Strings = std::vector<std::string>;

TEST_F(ReloadSettingsTest, Defaults) {
  Settings s = run({});
  EXPECT_FALSE(s.reload);
  EXPECT_TRUE(s.reload_dirs.empty());
  EXPECT_TRUE(s.reload_includes.empty());
  EXPECT_TRUE(s.reload_excludes.empty());
  EXPECT_DOUBLE_EQ(s.reload_delay, 0.25);
  EXPECT_FALSE(s.reload_poll);
}

TEST_F(ReloadSettingsTest, CommandLineAsUvicornSpellsIt) {
  Settings s =
      run({"--reload", "--reload-dir", "src", "--reload-dir", "lib", "--reload-include", "*.html",
           "--reload-exclude", "tests/*", "--reload-delay", "0.5", "--reload-poll"});
  EXPECT_TRUE(s.reload);
  EXPECT_EQ(s.reload_dirs, (Strings{"src", "lib"}));
  EXPECT_EQ(s.reload_includes, (Strings{"*.html"}));
  EXPECT_EQ(s.reload_excludes, (Strings{"tests/*"}));
  EXPECT_DOUBLE_EQ(s.reload_delay, 0.5);
  EXPECT_TRUE(s.reload_poll);
}

TEST_F(ReloadSettingsTest, YamlAndEnvironment) {
  Settings s = run({"--config", writeConfig("reload: true\nreload_dirs: [src]\n"
                                            "reload_excludes: ['*.tmp', 'build']\n"
                                            "reload_delay: 1\n")});
  EXPECT_TRUE(s.reload);
  EXPECT_EQ(s.reload_dirs, (Strings{"src"}));
  EXPECT_EQ(s.reload_excludes, (Strings{"*.tmp", "build"}));
  EXPECT_DOUBLE_EQ(s.reload_delay, 1.0);
  env_ = {{"ASGID_RELOAD", "yes"}, {"ASGID_RELOAD_INCLUDES", "*.html\n*.jinja"}};
  s = run({});
  EXPECT_TRUE(s.reload);
  EXPECT_EQ(s.reload_includes, (Strings{"*.html", "*.jinja"}));
}

TEST_F(ReloadSettingsTest, BadValues) {
  EXPECT_EQ(errorOf({"--reload-delay", "0"}).substr(0, 16), "--reload-delay: ");
  EXPECT_EQ(errorOf({"--reload-dir", ""}), "--reload-dir: may not be empty");
  EXPECT_EQ(errorOf({"--reload=1"}), "--reload takes no value");
}

TEST_F(ReloadSettingsTest, ReloadWithPreloadIsRefused) {
  std::string error = errorOf({"--reload", "--preload"});
  EXPECT_NE(error.find("--reload cannot be used with --preload"), std::string::npos) << error;
  EXPECT_EQ(errorOf({"--reload", "--preload", "--no-preload"}), "no error");
}

}  // namespace
}  // namespace asgid::config
