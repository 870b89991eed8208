#include "config/log_config.h"

#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <sstream>

#include "config/settings.h"
#include "config/value_parsers.h"

namespace asgid::config {

LogConfigValue::LogConfigValue() = default;
LogConfigValue::~LogConfigValue() = default;
LogConfigValue::LogConfigValue(const LogConfigValue&) = default;
LogConfigValue::LogConfigValue(LogConfigValue&&) noexcept = default;
LogConfigValue& LogConfigValue::operator=(const LogConfigValue&) = default;
LogConfigValue& LogConfigValue::operator=(LogConfigValue&&) noexcept = default;
namespace {

std::string position(const std::string& path, const YAML::Mark& mark) {
  return path + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

bool isOneOf(const std::string& text, std::initializer_list<const char*> words) {
  for (const char* word : words) {
    if (text == word) return true;
  }
  return false;
}

bool parseInteger(const std::string& text, long long& out) {
  std::string digits = text;
  int base = 10;
  size_t start = digits.starts_with('-') || digits.starts_with('+') ? 1 : 0;
  if (digits.compare(start, 2, "0x") == 0) {
    base = 16;
  } else if (digits.compare(start, 2, "0o") == 0) {
    base = 8;
    digits.erase(start + 1, 1);  // strtoll reads "0644" as octal
  }
  if (digits.size() <= start) return false;
  errno = 0;
  char* end = nullptr;
  out = std::strtoll(digits.c_str(), &end, base);
  return errno == 0 && end != nullptr && *end == '\0' && end != digits.c_str() + start;
}

bool parseFloat(const std::string& text, double& out) {
  if (isOneOf(text, {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"})) {
    out = HUGE_VAL;
    return true;
  }
  if (isOneOf(text, {"-.inf", "-.Inf", "-.INF"})) {
    out = -HUGE_VAL;
    return true;
  }
  if (isOneOf(text, {".nan", ".NaN", ".NAN"})) {
    out = NAN;
    return true;
  }
  if (text.find_first_of("0123456789") == std::string::npos) return false;
  if (text.find_first_not_of("0123456789+-.eE") != std::string::npos) return false;
  char* end = nullptr;
  out = std::strtod(text.c_str(), &end);
  return end != nullptr && *end == '\0';
}

LogConfigValue scalar(const YAML::Node& node) {
  LogConfigValue value;
  value.text = node.Scalar();
  value.kind = LogConfigValue::Kind::kString;
  if (node.Tag() != "?") return value;  // quoted: a string whatever it looks like
  const std::string& text = value.text;
  if (isOneOf(text, {"", "~", "null", "Null", "NULL"})) {
    value.kind = LogConfigValue::Kind::kNull;
  } else if (isOneOf(text, {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"})) {
    value.kind = LogConfigValue::Kind::kBool;
    value.boolean = true;
  } else if (isOneOf(text, {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"})) {
    value.kind = LogConfigValue::Kind::kBool;
  } else if (parseInteger(text, value.integer)) {
    value.kind = LogConfigValue::Kind::kInt;
  } else if (parseFloat(text, value.number)) {
    value.kind = LogConfigValue::Kind::kFloat;
  }
  return value;
}

LogConfigValue convert(const YAML::Node& node, const std::string& path) {
  LogConfigValue value;
  switch (node.Type()) {
    case YAML::NodeType::Scalar:
      return scalar(node);
    case YAML::NodeType::Sequence:
      value.kind = LogConfigValue::Kind::kList;
      for (const YAML::Node& item : node) value.items.push_back(convert(item, path));
      return value;
    case YAML::NodeType::Map:
      value.kind = LogConfigValue::Kind::kMap;
      for (const auto& entry : node) {
        if (!entry.first.IsScalar()) {
          throw ConfigError(position(path, entry.first.Mark()) + ": a key must be a string");
        }
        value.entries.emplace_back(entry.first.Scalar(), convert(entry.second, path));
      }
      return value;
    default:
      return value;  // null
  }
}

}  // namespace

std::shared_ptr<const LogConfigValue> readLogConfig(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw ConfigError("cannot open the --log-config file " + quote(path) + ": " +
                      std::strerror(errno));
  }
  std::ostringstream text;
  text << in.rdbuf();
  YAML::Node root;
  try {
    root = YAML::Load(text.str());
  } catch (const YAML::Exception& e) {
    throw ConfigError(position(path, e.mark) + ": " + e.msg + " (--log-config)");
  }
  if (!root.IsMap()) {
    throw ConfigError(path + ": --log-config expects a logging dictConfig dictionary (a map " +
                      "with \"version\": 1), not " + (root.IsNull() ? "an empty file" : "that"));
  }
  auto value = std::make_shared<LogConfigValue>(convert(root, path));
  return value;
}

}  // namespace asgid::config
