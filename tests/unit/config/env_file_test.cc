// --env-file: each syntax rule of python-dotenv's format, load_dotenv's precedence, and the
// file:line errors.
#include "config/env_file.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

namespace asgid::config {
namespace {

std::vector<EnvBinding> parse(std::string_view text) {
  return parseEnvFile(text, ".env");
}

// The bindings as name → value ("<none>" for a name without '=').
std::map<std::string, std::string> values(std::string_view text) {
  std::map<std::string, std::string> out;
  for (const EnvBinding& binding : parse(text))
    out[binding.name] = binding.value.value_or("<none>");
  return out;
}

std::string errorOf(std::string_view text) {
  try {
    parse(text);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

EnvLookup environment(std::map<std::string, std::string> variables) {
  return [variables](const std::string& name) -> std::optional<std::string> {
    auto found = variables.find(name);
    if (found == variables.end()) return std::nullopt;
    return found->second;
  };
}

// The resolved variables as name → value.
std::map<std::string, std::string> resolved(std::string_view text,
                                            std::map<std::string, std::string> env = {}) {
  std::map<std::string, std::string> out;
  for (const EnvVariable& v : resolveEnvFile(parse(text), environment(env))) out[v.name] = v.value;
  return out;
}

TEST(EnvFileTest, PlainAssignments) {
  auto v = values("A=1\nB=two words\n\nC=\n");
  EXPECT_EQ(v["A"], "1");
  EXPECT_EQ(v["B"], "two words");
  EXPECT_EQ(v["C"], "");
  EXPECT_EQ(v.size(), 3u);
}

TEST(EnvFileTest, BlanksAroundNameAndValueAreDropped) {
  auto v = values("  A = spaced out  \n\tB\t=\tx\n");
  EXPECT_EQ(v["A"], "spaced out");
  EXPECT_EQ(v["B"], "x");
}

TEST(EnvFileTest, ExportPrefixIsIgnored) {
  auto v = values("export A=1\nexport\tB=2\nexported=3\n");
  EXPECT_EQ(v["A"], "1");
  EXPECT_EQ(v["B"], "2");
  EXPECT_EQ(v["exported"], "3");
  EXPECT_FALSE(v.contains("export"));
}

TEST(EnvFileTest, FullLineCommentsAndBlankLines) {
  auto v = values("# a comment\n   # indented comment\n\n\nA=1 # trailing\n#B=2\n");
  EXPECT_EQ(v.size(), 1u);
  EXPECT_EQ(v["A"], "1");
}

TEST(EnvFileTest, HashIsACommentOnlyAfterABlankInUnquotedValues) {
  auto v = values("A=a#b\nB=a #b\nC=#nocomment\nD= # only a comment\nE=x\t# tab before\n");
  EXPECT_EQ(v["A"], "a#b");
  EXPECT_EQ(v["B"], "a");
  EXPECT_EQ(v["C"], "#nocomment");
  EXPECT_EQ(v["D"], "");
  EXPECT_EQ(v["E"], "x");
}

TEST(EnvFileTest, SingleQuotesAreLiteral) {
  auto v = values(R"(A='  kept  '
B='a # not a comment'
C='back\slash \n stays'
D='it\'s'
E='two\\one'
)");
  EXPECT_EQ(v["A"], "  kept  ");
  EXPECT_EQ(v["B"], "a # not a comment");
  EXPECT_EQ(v["C"], R"(back\slash \n stays)");
  EXPECT_EQ(v["D"], "it's");
  EXPECT_EQ(v["E"], R"(two\one)");
}

TEST(EnvFileTest, DoubleQuotesDecodeEscapes) {
  auto v = values(R"(A="line\nnext"
B="tab\there"
C="say \"hi\""
D="back\\slash"
E="keep \q as is"
F="a # not a comment" # but this is
)");
  EXPECT_EQ(v["A"], "line\nnext");
  EXPECT_EQ(v["B"], "tab\there");
  EXPECT_EQ(v["C"], "say \"hi\"");
  EXPECT_EQ(v["D"], "back\\slash");
  EXPECT_EQ(v["E"], "keep \\q as is");
  EXPECT_EQ(v["F"], "a # not a comment");
}

TEST(EnvFileTest, QuotedValuesMaySpanLines) {
  auto bindings = parse("A=\"first\nsecond\"\nB='x\ny'\nC=3\n");
  ASSERT_EQ(bindings.size(), 3u);
  EXPECT_EQ(*bindings[0].value, "first\nsecond");
  EXPECT_EQ(*bindings[1].value, "x\ny");
  EXPECT_EQ(bindings[2].name, "C");
  EXPECT_EQ(bindings[2].line, 5);  // the line numbers count the lines inside the quotes
}

TEST(EnvFileTest, NameWithoutEqualsHasNoValueAndSetsNothing) {
  auto bindings = parse("ALONE\nA=1\n");
  ASSERT_EQ(bindings.size(), 2u);
  EXPECT_EQ(bindings[0].name, "ALONE");
  EXPECT_FALSE(bindings[0].value.has_value());
  auto r = resolved("ALONE\nA=1\n");
  EXPECT_FALSE(r.contains("ALONE"));
  EXPECT_EQ(r["A"], "1");
}

TEST(EnvFileTest, CrLfLineEndsAndByteOrderMark) {
  auto bindings = parse(
      "\xEF\xBB\xBF"
      "A=1\r\nB=\"x\"\r\nC=3");
  ASSERT_EQ(bindings.size(), 3u);
  EXPECT_EQ(bindings[0].name, "A");
  EXPECT_EQ(*bindings[0].value, "1");
  EXPECT_EQ(*bindings[1].value, "x");
  EXPECT_EQ(bindings[2].line, 3);
}

TEST(EnvFileTest, ExpandsFromEarlierLinesAndTheEnvironment) {
  auto r = resolved("DOMAIN=example.org\nEMAIL=admin@${DOMAIN}\nPATHS=${HOME}/x\n",
                    {{"HOME", "/home/u"}});
  EXPECT_EQ(r["EMAIL"], "admin@example.org");
  EXPECT_EQ(r["PATHS"], "/home/u/x");
}

TEST(EnvFileTest, ExpansionDefaultsAndUnknownNames) {
  auto r = resolved("A=${NOPE}|${NOPE:-fallback}|${SET:-unused}\n", {{"SET", "s"}});
  EXPECT_EQ(r["A"], "|fallback|s");
}

TEST(EnvFileTest, ExpansionOnlyInUnquotedAndDoubleQuotedValues) {
  auto r = resolved("X=1\nA=${X}\nB=\"${X}\"\nC='${X}'\nD=$X\nE=${X\nF=${X:y}\n");
  EXPECT_EQ(r["A"], "1");
  EXPECT_EQ(r["B"], "1");
  EXPECT_EQ(r["C"], "${X}");
  EXPECT_EQ(r["D"], "$X");      // only the braced form is expanded, as python-dotenv does
  EXPECT_EQ(r["E"], "${X");     // unterminated: kept as written
  EXPECT_EQ(r["F"], "${X:y}");  // not ${NAME} nor ${NAME:-default}
}

TEST(EnvFileTest, ExistingEnvironmentVariablesAreNotOverridden) {
  auto r = resolved("HOME=/from/file\nNEW=n\n", {{"HOME", "/real"}});
  EXPECT_FALSE(r.contains("HOME"));
  EXPECT_EQ(r["NEW"], "n");
}

TEST(EnvFileTest, ExpansionPrefersTheEnvironmentOverTheFile) {
  // load_dotenv(override=False): the environment's value, then the file's.
  auto r = resolved("USER=file\nGREETING=hi ${USER}\n", {{"USER", "real"}});
  EXPECT_EQ(r["GREETING"], "hi real");
}

TEST(EnvFileTest, LaterBindingOfANameWins) {
  auto variables = resolveEnvFile(parse("A=1\nB=2\nA=3\n"), environment({}));
  ASSERT_EQ(variables.size(), 2u);
  EXPECT_EQ(variables[0].name, "A");
  EXPECT_EQ(variables[0].value, "3");
  EXPECT_EQ(variables[0].line, 3);
}

TEST(EnvFileTest, TextAfterAClosingQuoteIsAnError) {
  EXPECT_EQ(errorOf("A=1\nB=\"x\" y\n"), ".env:2: unexpected 'y' after the value");
}

TEST(EnvFileTest, UnterminatedQuoteNamesWhereItOpened) {
  EXPECT_EQ(errorOf("A=1\n\nB='never closed\nC=3\n"),
            ".env:3: the single-quoted value opened on line 3 is never closed");
}

TEST(EnvFileTest, NameAndValueWithoutEqualsIsAnError) {
  EXPECT_EQ(errorOf("KEY value\n"), ".env:1: expected '=' after 'KEY', got 'value'");
  EXPECT_EQ(errorOf("KEY # a comment is fine\n"), "no error");
}

TEST(EnvFileTest, MissingNameIsAnError) {
  EXPECT_EQ(errorOf("=value\n"), ".env:1: expected NAME=value, got '=value'");
}

TEST(EnvFileTest, EveryBadLineIsReported) {
  std::string error = errorOf("=1\nGOOD=1\nB=\"x\" y\n=2\n");
  EXPECT_EQ(error,
            ".env:1: expected NAME=value, got '=1'\n"
            ".env:3: unexpected 'y' after the value\n"
            ".env:4: expected NAME=value, got '=2'");
}

// Arbitrary text from the characters the grammar cares about: every input either parses or
// is a ConfigError naming a line of the file, and expansion never reads out of bounds.
TEST(EnvFileTest, ArbitraryTextParsesOrFailsCleanly) {
  static constexpr std::string_view kAlphabet = "AB=#'\" \t\n\r\\${}:-xe\xEF\xBB\xBF";
  std::mt19937 random(9);
  for (int round = 0; round < 20000; ++round) {
    std::string text;
    for (size_t n = random() % 24; n > 0; --n) text += kAlphabet[random() % kAlphabet.size()];
    try {
      auto variables = resolveEnvFile(parse(text), environment({{"A", "a"}}));
      for (const EnvVariable& v : variables) EXPECT_FALSE(v.name.empty()) << text;
    } catch (const ConfigError& e) {
      EXPECT_TRUE(std::string(e.what()).starts_with(".env:")) << text;
    }
  }
}

TEST(EnvFileTest, LoadEnvFileNamesAMissingFile) {
  try {
    loadEnvFile("/nonexistent/.env", environment({}));
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              "cannot open env file '/nonexistent/.env': No such file or directory");
  }
}

}  // namespace
}  // namespace asgid::config
