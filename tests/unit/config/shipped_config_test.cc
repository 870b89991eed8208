// packaging/asgid.yaml, the conffile the .deb and .rpm install as /etc/asgid/asgid.yaml, must
// name every key of the settings table (set, or commented out as "# key:"), so a row added
// without its line there fails here. tests/integration/test_shipped_config.py checks that the
// file, and the file with every commented default uncommented, passes --check-config.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <string>

#include "config/settings_table.h"

namespace asgid::config {
namespace {

// The keys of packaging/asgid.yaml's lines "key: ..." and "# key: ..." (or "# key:").
std::set<std::string> keysInShippedConfig() {
  std::ifstream in(std::string(ASGID_SOURCE_DIR) + "/packaging/asgid.yaml");
  EXPECT_TRUE(in) << "cannot read packaging/asgid.yaml";
  std::set<std::string> keys;
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("# ")) line.erase(0, 2);
    size_t end = line.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_");
    if (end == 0 || end == std::string::npos || line[end] != ':') continue;
    if (end + 1 < line.size() && line[end + 1] != ' ') continue;
    keys.insert(line.substr(0, end));
  }
  return keys;
}

TEST(ShippedConfigTest, NamesEveryKeyOfTheSettingsTable) {
  std::set<std::string> keys = keysInShippedConfig();
  for (const SettingSpec& spec : settingsTable()) {
    EXPECT_TRUE(keys.contains(spec.name)) << spec.name << " is missing from packaging/asgid.yaml";
  }
}

TEST(ShippedConfigTest, NamesNoKeyTheTableDoesNotHave) {
  std::set<std::string> known;
  for (const SettingSpec& spec : settingsTable()) known.insert(spec.name);
  for (const std::string& key : keysInShippedConfig()) {
    EXPECT_TRUE(known.contains(key)) << key << " in packaging/asgid.yaml is not a setting";
  }
}

}  // namespace
}  // namespace asgid::config
