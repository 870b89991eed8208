#include "config/env_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "config/value_parsers.h"

namespace asgid::config {
namespace {

bool isBlank(char c) {
  return c == ' ' || c == '\t' || c == '\f' || c == '\v';
}

bool isLineEnd(char c) {
  return c == '\n' || c == '\r';
}

// A malformed binding: what is wrong, for "path:line: message".
struct SyntaxError {
  std::string message;
};

// Walks the text once, counting lines (\n, \r\n and \r each end one, as python-dotenv counts).
class EnvReader {
 public:
  explicit EnvReader(std::string_view text) : text_(text) {
    if (text_.starts_with("\xEF\xBB\xBF")) text_.remove_prefix(3);  // a UTF-8 byte order mark
  }

  bool atEnd() const { return at_ >= text_.size(); }
  char peek() const { return atEnd() ? '\0' : text_[at_]; }
  int line() const { return line_; }

  void advance() {
    char c = text_[at_++];
    if (c == '\n' || (c == '\r' && peek() != '\n')) ++line_;
  }

  void skipBlanks() {
    while (!atEnd() && isBlank(peek())) advance();
  }

  void skipWhitespaceAndNewlines() {
    while (!atEnd() && (isBlank(peek()) || isLineEnd(peek()))) advance();
  }

  void skipRestOfLine() {
    while (!atEnd() && !isLineEnd(peek())) advance();
    if (!atEnd()) advance();
  }

  bool consume(std::string_view word) {
    if (text_.substr(at_).starts_with(word)) {
      for (size_t i = 0; i < word.size(); ++i) advance();
      return true;
    }
    return false;
  }

  // The characters up to (not including) the end of the line.
  std::string_view restOfLine() const {
    size_t end = text_.find_first_of("\r\n", at_);
    return text_.substr(at_, (end == std::string_view::npos ? text_.size() : end) - at_);
  }

 private:
  std::string_view text_;
  size_t at_ = 0;
  int line_ = 1;
};

// "export" counts as a prefix only when blanks follow it ("exported=1" is a key).
void skipExport(EnvReader& reader) {
  std::string_view rest = reader.restOfLine();
  if (rest.starts_with("export") && rest.size() > 6 && isBlank(rest[6])) {
    reader.consume("export");
    reader.skipBlanks();
  }
}

std::string readKey(EnvReader& reader) {
  std::string key;
  if (reader.peek() == '\'') {
    reader.advance();
    while (!reader.atEnd() && reader.peek() != '\'') {
      key += reader.peek();
      reader.advance();
    }
    if (reader.atEnd() || key.empty()) throw SyntaxError{"unterminated or empty quoted name"};
    reader.advance();
    return key;
  }
  while (!reader.atEnd()) {
    char c = reader.peek();
    if (c == '=' || c == '#' || isBlank(c) || isLineEnd(c)) break;
    key += c;
    reader.advance();
  }
  if (key.empty()) throw SyntaxError{"expected NAME=value, got " + quote(reader.restOfLine())};
  return key;
}

// The escapes python-dotenv decodes in each kind of quotes; any other backslash stays as is.
char decodeEscape(char c, EnvQuoting quoting) {
  if (c == '\\' || c == '\'') return c;
  if (quoting == EnvQuoting::kSingle) return '\0';
  switch (c) {
    case '"':
      return '"';
    case 'a':
      return '\a';
    case 'b':
      return '\b';
    case 'f':
      return '\f';
    case 'n':
      return '\n';
    case 'r':
      return '\r';
    case 't':
      return '\t';
    case 'v':
      return '\v';
    default:
      return '\0';
  }
}

// Reads from the opening quote to the closing one, across lines.
std::string readQuoted(EnvReader& reader, EnvQuoting quoting) {
  const char quote_char = quoting == EnvQuoting::kSingle ? '\'' : '"';
  const int opened_at = reader.line();
  reader.advance();
  std::string value;
  while (!reader.atEnd() && reader.peek() != quote_char) {
    char c = reader.peek();
    reader.advance();
    if (c == '\\' && !reader.atEnd()) {
      char decoded = decodeEscape(reader.peek(), quoting);
      if (decoded != '\0') {
        value += decoded;
        reader.advance();
        continue;
      }
    }
    value += c;
  }
  if (reader.atEnd()) {
    throw SyntaxError{std::string("the ") + (quoting == EnvQuoting::kSingle ? "single" : "double") +
                      "-quoted value opened on line " + std::to_string(opened_at) +
                      " is never closed"};
  }
  reader.advance();
  return value;
}

// Up to the end of the line, less a comment that follows a blank and trailing blanks.
std::string readUnquoted(EnvReader& reader, bool after_blank) {
  std::string_view rest = reader.restOfLine();
  for (size_t i = 0; i < rest.size(); ++i) reader.advance();
  if (after_blank && rest.starts_with('#')) return "";  // KEY=  # only a comment
  for (size_t i = 1; i < rest.size(); ++i) {
    if (rest[i] == '#' && isBlank(rest[i - 1])) {
      rest = rest.substr(0, i);
      break;
    }
  }
  size_t end = rest.find_last_not_of(" \t\f\v");
  return std::string(end == std::string_view::npos ? std::string_view() : rest.substr(0, end + 1));
}

// After the value (or a name without one): blanks, an optional comment, then the end of the
// line.
void expectLineEnd(EnvReader& reader, const EnvBinding& binding) {
  reader.skipBlanks();
  std::string_view rest = reader.restOfLine();
  if (!rest.empty() && !rest.starts_with('#')) {
    if (!binding.value) {
      throw SyntaxError{"expected '=' after " + quote(binding.name) + ", got " + quote(rest)};
    }
    throw SyntaxError{"unexpected " + quote(rest) + " after the value"};
  }
  reader.skipRestOfLine();
}

// One binding, or nullopt for a comment line.
std::optional<EnvBinding> readBinding(EnvReader& reader) {
  EnvBinding binding;
  binding.line = reader.line();
  skipExport(reader);
  if (reader.peek() == '#') {
    reader.skipRestOfLine();
    return std::nullopt;
  }
  binding.name = readKey(reader);
  reader.skipBlanks();
  if (reader.peek() == '=') {
    reader.advance();
    bool after_blank = isBlank(reader.peek());
    reader.skipBlanks();
    char c = reader.peek();
    if (c == '\'' || c == '"') {
      binding.quoting = c == '\'' ? EnvQuoting::kSingle : EnvQuoting::kDouble;
      binding.value = readQuoted(reader, binding.quoting);
    } else {
      binding.value = readUnquoted(reader, after_blank);
    }
  }
  expectLineEnd(reader, binding);
  return binding;
}

// ${NAME} and ${NAME:-default}; a "${" without its "}" is kept as written.
template <typename Lookup>
std::string expand(std::string_view value, const Lookup& lookup) {
  std::string out;
  size_t at = 0;
  while (at < value.size()) {
    size_t open = value.find("${", at);
    size_t close = open == std::string_view::npos ? open : value.find('}', open + 2);
    if (close == std::string_view::npos) break;
    out.append(value.substr(at, open - at));
    std::string_view inner = value.substr(open + 2, close - open - 2);
    size_t colon = inner.find(':');
    if (colon != std::string_view::npos && inner.substr(colon, 2) != ":-") {
      out.append(value.substr(open, close + 1 - open));  // not an expansion python-dotenv knows
      at = close + 1;
      continue;
    }
    std::optional<std::string> found = lookup(std::string(inner.substr(0, colon)));
    if (found) {
      out += *found;
    } else if (colon != std::string_view::npos) {
      out.append(inner.substr(colon + 2));
    }
    at = close + 1;
  }
  out.append(value.substr(std::min(at, value.size())));
  return out;
}

}  // namespace

std::vector<EnvBinding> parseEnvFile(std::string_view text, const std::string& path) {
  EnvReader reader(text);
  std::vector<EnvBinding> bindings;
  ErrorList errors;
  for (reader.skipWhitespaceAndNewlines(); !reader.atEnd(); reader.skipWhitespaceAndNewlines()) {
    int line = reader.line();
    try {
      if (auto binding = readBinding(reader)) bindings.push_back(std::move(*binding));
    } catch (const SyntaxError& e) {
      errors.add(path + ":" + std::to_string(line) + ": " + e.message);
      // Carry on from the next line (python-dotenv does the same), so every bad line is
      // reported at once. An unterminated quote has read to the end of the file already.
      if (!reader.atEnd()) reader.skipRestOfLine();
    }
  }
  errors.throwIfAny();
  return bindings;
}

std::vector<EnvVariable> resolveEnvFile(const std::vector<EnvBinding>& bindings,
                                        const EnvLookup& env) {
  std::vector<EnvVariable> variables;
  std::map<std::string, size_t> index;  // name → position in `variables`
  for (const EnvBinding& binding : bindings) {
    if (!binding.value) continue;
    // load_dotenv(override=False): the environment first, then the file's earlier lines.
    auto lookup = [&](const std::string& name) -> std::optional<std::string> {
      if (auto value = env(name)) return value;
      auto found = index.find(name);
      if (found != index.end()) return variables[found->second].value;
      return std::nullopt;
    };
    std::string value =
        binding.quoting == EnvQuoting::kSingle ? *binding.value : expand(*binding.value, lookup);
    auto [at, inserted] = index.emplace(binding.name, variables.size());
    if (inserted) {
      variables.push_back({binding.name, std::move(value), binding.line});
    } else {
      variables[at->second].value = std::move(value);
      variables[at->second].line = binding.line;
    }
  }
  // Names the environment has keep their value; the file only adds.
  std::erase_if(variables, [&](const EnvVariable& v) { return env(v.name).has_value(); });
  return variables;
}

std::vector<EnvVariable> loadEnvFile(const std::string& path, const EnvLookup& env) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError("cannot open env file " + quote(path) + ": " + strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw ConfigError("cannot read env file " + quote(path) + ": " + strerror(errno));
  return resolveEnvFile(parseEnvFile(text.str(), path), env);
}

}  // namespace asgid::config
