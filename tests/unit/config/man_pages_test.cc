// The man pages and docs/configuration.md must name every row of the settings table, so a row
// added without its documentation fails here.
#include <gtest/gtest.h>

#include <cctype>
#include <fstream>
#include <sstream>
#include <string>

#include "config/settings_table.h"

namespace asgid::config {
namespace {

std::string readSource(const std::string& relative) {
  std::ifstream in(std::string(ASGID_SOURCE_DIR) + "/" + relative);
  EXPECT_TRUE(in) << "cannot read " << relative;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// roff writes a literal dash as \- and switches fonts with \fB, \fI, \fR; drop both so the
// text can be searched for flags as typed.
std::string plainRoff(std::string text) {
  std::string plain;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text.compare(i, 2, "\\-") == 0) {
      plain += '-';
      i += 1;
    } else if (text.compare(i, 2, "\\f") == 0 && i + 2 < text.size()) {
      i += 2;
    } else {
      plain += text[i];
    }
  }
  return plain;
}

bool isWordChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
}

// `word` appears on its own, not inside a longer name ("port" in "support", "--header" in
// "--header-x").
bool containsWord(const std::string& text, const std::string& word) {
  for (size_t at = text.find(word); at != std::string::npos; at = text.find(word, at + 1)) {
    bool starts = at == 0 || !isWordChar(text[at - 1]);
    size_t end = at + word.size();
    if (starts && (end == text.size() || !isWordChar(text[end]))) return true;
  }
  return false;
}

TEST(ManPagesTest, AsgidOneNamesEveryFlagAndVariable) {
  std::string page = plainRoff(readSource("man/asgid.1"));
  for (const SettingSpec& spec : settingsTable()) {
    EXPECT_TRUE(containsWord(page, spec.flag)) << spec.flag;
    if (!spec.negative_flag.empty()) {
      EXPECT_TRUE(containsWord(page, spec.negative_flag)) << spec.negative_flag;
    }
    EXPECT_TRUE(containsWord(page, spec.env)) << spec.env;
  }
  for (const char* flag : {"--config", "--check-config", "--print-config", "--version", "--help",
                           "ASGID_CONFIG", "VIRTUAL_ENV"}) {
    EXPECT_TRUE(containsWord(page, flag)) << flag;
  }
  for (const char* section : {"NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "SIGNALS",
                              "ENVIRONMENT", "FILES", "EXIT STATUS", "SEE ALSO"}) {
    EXPECT_NE(page.find(std::string(".SH ") + section), std::string::npos) << section;
  }
}

TEST(ManPagesTest, AsgidYamlFiveNamesEveryKey) {
  std::string page = plainRoff(readSource("man/asgid.yaml.5"));
  for (const SettingSpec& spec : settingsTable()) {
    EXPECT_TRUE(containsWord(page, spec.name)) << spec.name;
  }
}

TEST(ManPagesTest, ConfigurationReferenceNamesEveryRow) {
  std::string doc = readSource("docs/configuration.md");
  for (const SettingSpec& spec : settingsTable()) {
    EXPECT_TRUE(containsWord(doc, spec.flag)) << spec.flag;
    EXPECT_TRUE(containsWord(doc, spec.name)) << spec.name;
    EXPECT_TRUE(containsWord(doc, spec.env)) << spec.env;
  }
  for (const char* flag : {"--config", "--check-config", "--print-config", "--version"}) {
    EXPECT_TRUE(containsWord(doc, flag)) << flag;
  }
}

TEST(ManPagesTest, ContainsWordRespectsBoundaries) {
  EXPECT_TRUE(containsWord("use --port 80", "--port"));
  EXPECT_FALSE(containsWord("use --port-range", "--port"));
  EXPECT_FALSE(containsWord("support", "port"));
  EXPECT_TRUE(containsWord("port: 80", "port"));
  EXPECT_EQ(plainRoff("\\fB\\-\\-port\\fR"), "--port");
}

}  // namespace
}  // namespace asgid::config
