#include "config/value_parsers.h"

#include <gtest/gtest.h>

#include <climits>
#include <string>

namespace asgid::config {
namespace {

template <typename Parse>
std::string errorOf(Parse&& parse) {
  try {
    parse();
  } catch (const ValueError& e) {
    return e.what();
  }
  return "no error";
}

TEST(ValueParsersTest, IntegersWithinRange) {
  EXPECT_EQ(parseInt("0", {0, 65535}), 0);
  EXPECT_EQ(parseInt("65535", {0, 65535}), 65535);
  EXPECT_EQ(parseInt("-3", {-5, 5}), -3);
}

TEST(ValueParsersTest, IntegerErrors) {
  IntRange port{0, 65535};
  EXPECT_EQ(errorOf([&] { parseInt("abc", port); }), "'abc' is not an integer");
  EXPECT_EQ(errorOf([&] { parseInt("", port); }), "'' is not an integer");
  EXPECT_EQ(errorOf([&] { parseInt("80x", port); }), "'80x' is not an integer");
  EXPECT_EQ(errorOf([&] { parseInt(" 80", port); }), "' 80' is not an integer");
  EXPECT_EQ(errorOf([&] { parseInt("8.5", port); }), "'8.5' is not an integer");
  EXPECT_EQ(errorOf([&] { parseInt("70000", port); }), "70000 is out of range 0..65535");
  EXPECT_EQ(errorOf([&] { parseInt("-1", port); }), "-1 is out of range 0..65535");
  EXPECT_EQ(errorOf([&] { parseInt("99999999999999999999", port); }),
            "99999999999999999999 is out of range 0..65535");
  EXPECT_EQ(errorOf([&] { parseInt("0", {1, INT_MAX}); }), "0 is out of range (must be >= 1)");
}

TEST(ValueParsersTest, Doubles) {
  DoubleRange seconds{.min = 0, .max = 86400, .min_exclusive = true};
  EXPECT_DOUBLE_EQ(parseDouble("5", seconds), 5.0);
  EXPECT_DOUBLE_EQ(parseDouble("0.25", seconds), 0.25);
  EXPECT_DOUBLE_EQ(parseDouble("86400", seconds), 86400.0);
  EXPECT_EQ(errorOf([&] { parseDouble("0", seconds); }),
            "0 is out of range (must be > 0 and <= 86400)");
  EXPECT_EQ(errorOf([&] { parseDouble("86401", seconds); }),
            "86401 is out of range (must be > 0 and <= 86400)");
  EXPECT_EQ(errorOf([&] { parseDouble("soon", seconds); }), "'soon' is not a number");
  EXPECT_EQ(errorOf([&] { parseDouble("inf", seconds); }), "'inf' is not a number");
  EXPECT_EQ(errorOf([&] { parseDouble("nan", seconds); }), "'nan' is not a number");
  EXPECT_DOUBLE_EQ(parseDouble("0", {.min = 0, .max = 1}), 0.0);
}

TEST(ValueParsersTest, OctalModes) {
  EXPECT_EQ(parseOctal("0660", 0777), 0660);
  EXPECT_EQ(parseOctal("660", 0777), 0660);
  EXPECT_EQ(parseOctal("0o660", 0777), 0660);
  EXPECT_EQ(parseOctal("0O22", 0777), 022);
  EXPECT_EQ(parseOctal("0", 0777), 0);
  EXPECT_EQ(parseOctal("0777", 0777), 0777);
  EXPECT_EQ(errorOf([] { parseOctal("999", 0777); }),
            "'999' is not an octal mode (for example 0660)");
  EXPECT_EQ(errorOf([] { parseOctal("0668", 0777); }),
            "'0668' is not an octal mode (for example 0660)");
  for (const char* text : {"", "0o", "0x1f", "+660", " 660", "rw-rw----"}) {
    SCOPED_TRACE(text);
    EXPECT_NE(errorOf([&] { parseOctal(text, 0777); }).find("is not an octal mode"),
              std::string::npos);
  }
  EXPECT_EQ(errorOf([] { parseOctal("1777", 0777); }), "1777 is out of range 0..0777");
  EXPECT_EQ(errorOf([] { parseOctal("-1", 0777); }), "-1 is out of range 0..0777");
  EXPECT_EQ(errorOf([] { parseOctal("7777777777777", 0777); }),
            "7777777777777 is out of range 0..0777");
  EXPECT_EQ(formatOctal(0660), "0660");
  EXPECT_EQ(formatOctal(022), "0022");
  EXPECT_EQ(formatOctal(0), "0000");
}

TEST(ValueParsersTest, Booleans) {
  for (const char* text : {"true", "TRUE", "yes", "on", "1"}) EXPECT_TRUE(parseBool(text));
  for (const char* text : {"false", "False", "no", "off", "0"}) EXPECT_FALSE(parseBool(text));
  EXPECT_EQ(errorOf([] { parseBool("maybe"); }), "'maybe' is not a boolean (use true or false)");
}

TEST(ValueParsersTest, Choices) {
  std::vector<std::string> choices = {"auto", "on", "off"};
  EXPECT_EQ(parseChoice("on", choices), 1u);
  EXPECT_EQ(parseChoice("OFF", choices), 2u);
  EXPECT_EQ(errorOf([&] { parseChoice("sometimes", choices); }),
            "'sometimes' is not one of auto, on, off");
}

TEST(ValueParsersTest, QuoteEscapesControlCharacters) {
  EXPECT_EQ(quote("a\nb"), "'a\\x0ab'");
}

TEST(ValueParsersTest, DescribesRanges) {
  EXPECT_EQ(describe(IntRange{0, 65535}), "0..65535");
  EXPECT_EQ(describe(IntRange{1, INT_MAX}), ">= 1");
  EXPECT_EQ(describe(DoubleRange{.min = 0, .max = 60, .min_exclusive = true}), "> 0 and <= 60");
  EXPECT_EQ(formatNumber(5.0), "5");
  EXPECT_EQ(formatNumber(0.5), "0.5");
  EXPECT_EQ(formatNumber(0.1), "0.1");
  EXPECT_EQ(formatNumber(31536000), "31536000");
}

}  // namespace
}  // namespace asgid::config
