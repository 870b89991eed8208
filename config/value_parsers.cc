#include "config/value_parsers.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <iomanip>
#include <sstream>
#include <system_error>

#include "common/ascii.h"
#include "common/log.h"

namespace asgid::config {
namespace {

bool isOneOf(std::string_view text, std::initializer_list<std::string_view> words) {
  for (std::string_view word : words) {
    if (equalsIgnoreCase(text, word)) return true;
  }
  return false;
}

// The bounds as an error message ends: "out of range 0..65535" for a closed range, "out of
// range (must be >= 1)" for the others.
std::string outOfRange(std::string_view text, const std::string& bounds) {
  bool closed = bounds.find("..") != std::string::npos;
  return log::sanitize(text) + " is out of range " + (closed ? bounds : "(must be " + bounds + ")");
}

}  // namespace

std::string describe(IntRange range) {
  if (range.max == INT_MAX) return ">= " + std::to_string(range.min);
  return std::to_string(range.min) + ".." + std::to_string(range.max);
}

std::string describe(DoubleRange range) {
  return (range.min_exclusive ? "> " : ">= ") + formatNumber(range.min) +
         " and <= " + formatNumber(range.max);
}

std::string quote(std::string_view text) {
  // Appended rather than "'" + sanitize(text): GCC 12 warns (-Wrestrict) about the insert at
  // the front that `const char* + std::string&&` becomes, at -O2 (GCC bug 105329).
  std::string quoted = "'";
  quoted += log::sanitize(text);
  quoted += '\'';
  return quoted;
}

int parseInt(std::string_view text, IntRange range) {
  long long value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || end != text.data() + text.size() ||
      (error != std::errc() && error != std::errc::result_out_of_range)) {
    throw ValueError(quote(text) + " is not an integer");
  }
  if (error == std::errc::result_out_of_range || value < range.min || value > range.max) {
    throw ValueError(outOfRange(text, describe(range)));
  }
  return static_cast<int>(value);
}

int parseOctal(std::string_view text, int max) {
  std::string_view digits = text;
  if (digits.starts_with("0o") || digits.starts_with("0O")) digits.remove_prefix(2);
  int value = 0;
  auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value, 8);
  if (digits.empty() || end != digits.data() + digits.size() ||
      (error != std::errc() && error != std::errc::result_out_of_range)) {
    throw ValueError(quote(text) + " is not an octal mode (for example 0660)");
  }
  if (error == std::errc::result_out_of_range || value < 0 || value > max) {
    throw ValueError(log::sanitize(text) + " is out of range 0.." + formatOctal(max));
  }
  return value;
}

std::string formatOctal(int value) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "%04o", static_cast<unsigned>(value));
  return buffer;
}

double parseDouble(std::string_view text, DoubleRange range) {
  double value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || end != text.data() + text.size() || error != std::errc() ||
      !std::isfinite(value)) {
    throw ValueError(quote(text) + " is not a number");
  }
  bool too_low = range.min_exclusive ? value <= range.min : value < range.min;
  if (too_low || value > range.max) throw ValueError(outOfRange(text, describe(range)));
  return value;
}

bool parseBool(std::string_view text) {
  if (isOneOf(text, {"true", "yes", "on", "1"})) return true;
  if (isOneOf(text, {"false", "no", "off", "0"})) return false;
  throw ValueError(quote(text) + " is not a boolean (use true or false)");
}

size_t parseChoice(std::string_view text, const std::vector<std::string>& choices) {
  std::string listed;
  for (size_t i = 0; i < choices.size(); ++i) {
    if (equalsIgnoreCase(text, choices[i])) return i;
    listed += (i == 0 ? "" : ", ") + choices[i];
  }
  throw ValueError(quote(text) + " is not one of " + listed);
}

std::string formatNumber(double value) {
  // 15 significant digits: whole numbers up to a year of seconds print in full (not 3.1536e+07)
  // and a decimal like 0.1 prints as written.
  std::ostringstream out;
  out << std::setprecision(15) << value;
  return out.str();
}

}  // namespace asgid::config
