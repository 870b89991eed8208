// --log-config: a logging.config dictConfig file, JSON or YAML, read by yaml-cpp (JSON is YAML's
// flow style), so no YAML package is needed in the app's virtualenv. The master reads it with
// the other settings (a bad file stops asgid with file:line:col before anything starts; a HUP
// with a bad file keeps the running configuration), and each worker turns the tree into a
// Python dict for logging.config.dictConfig before importing the app.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace asgid::config {

// A dictConfig value. Scalars are typed as YAML 1.2's core schema types plain (unquoted)
// scalars, plus YAML 1.1's yes/no/on/off booleans (which PyYAML, the uvicorn users' parser,
// reads as booleans: `propagate: no` must not become the true string "no"); quoted scalars are
// strings.
struct LogConfigValue {
  // Out of line: the members hold the type itself, and clang checks std::pair's element types
  // where an inline destructor would be instantiated, while this class is still incomplete.
  LogConfigValue();
  ~LogConfigValue();
  LogConfigValue(const LogConfigValue&);
  LogConfigValue(LogConfigValue&&) noexcept;
  LogConfigValue& operator=(const LogConfigValue&);
  LogConfigValue& operator=(LogConfigValue&&) noexcept;

  enum class Kind { kNull, kBool, kInt, kFloat, kString, kList, kMap };
  Kind kind = Kind::kNull;
  bool boolean = false;
  long long integer = 0;
  double number = 0;
  std::string text;                   // kString; also the original text of every scalar
  std::vector<LogConfigValue> items;  // kList
  std::vector<std::pair<std::string, LogConfigValue>> entries;  // kMap, in file order
};

// Reads and parses `path`; the top level must be a map. Throws ConfigError naming the file
// (with line:column for a syntax error).
std::shared_ptr<const LogConfigValue> readLogConfig(const std::string& path);

}  // namespace asgid::config
