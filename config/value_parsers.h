// Parsers for setting values given as text. Every source (a flag's argument, an environment
// variable, a YAML scalar) reaches Settings through these, so "8080" means the same wherever
// it is written. They throw ValueError with a message that does not name the source
// ("'abc' is not an integer"); the caller prefixes the flag, the variable or file:line:col.
#pragma once

#include <climits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace asgid::config {

class ValueError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Inclusive bounds.
struct IntRange {
  int min = INT_MIN;
  int max = INT_MAX;
};

// Bounds for seconds and other real numbers; `min_exclusive` makes the lower bound strict
// (a timeout of 0 means nothing sensible).
struct DoubleRange {
  double min = 0;
  double max = 0;
  bool min_exclusive = false;
};

// "0..65535", ">= 1", "> 0 and <= 86400".
std::string describe(IntRange range);
std::string describe(DoubleRange range);

// 'text', with control characters escaped, for error messages.
std::string quote(std::string_view text);

// A decimal integer within `range`.
int parseInt(std::string_view text, IntRange range);

// A file mode or umask written in octal, as chmod(1) and umask(1) take it: "0660", "660" or
// Python's and YAML 1.2's "0o660". At most `max`.
int parseOctal(std::string_view text, int max);

// "0660": octal, with the leading zero that says so.
std::string formatOctal(int value);

// A finite decimal number within `range`.
double parseDouble(std::string_view text, DoubleRange range);

// true/false, yes/no, on/off, 1/0, in any case.
bool parseBool(std::string_view text);

// The index of `text` in `choices`, compared without regard to case.
size_t parseChoice(std::string_view text, const std::vector<std::string>& choices);

// Doubles as --help shows them: 5, 0.5, 30.
std::string formatNumber(double value);

}  // namespace asgid::config
