// loadYamlFile(): the YAML file's keys are the table's row names, and each value goes through
// the same row as the flag would. Errors carry file:line:col (yaml-cpp counts from 0; editors
// and compilers count from 1).
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>

#include "config/closest_name.h"
#include "config/setting_writer.h"
#include "config/settings_table.h"

namespace asgid::config {
namespace {

std::string position(const std::string& path, const YAML::Mark& mark) {
  return path + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

std::string readFile(const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file) throw ConfigError("cannot open config file " + quote(path) + ": " + strerror(errno));
  std::string text;
  char buffer[4096];
  while (size_t n = std::fread(buffer, 1, sizeof buffer, file.get())) text.append(buffer, n);
  if (std::ferror(file.get())) {
    throw ConfigError("cannot read config file " + quote(path) + ": " + strerror(errno));
  }
  return text;
}

YAML::Node parseFile(const std::string& path) {
  std::string text = readFile(path);
  try {
    return YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    throw ConfigError(position(path, e.mark) + ": " + e.msg);
  }
}

std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar:
      return "a single value";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a map";
    default:
      return "nothing";
  }
}

// Applies one file's top-level map to Settings.
class YamlApplier {
 public:
  YamlApplier(const std::string& path, Settings& settings) : path_(path), writer_(settings) {}

  void apply(const YAML::Node& key, const YAML::Node& value) {
    const SettingSpec& spec = findRow(key);
    // A null value has no position of its own; yaml-cpp gives the next token's.
    std::string where = position(path_, value.IsNull() ? key.Mark() : value.Mark());
    std::string prefix = where + ": " + spec.name;
    std::string source = path_ + ":" + std::to_string(key.Mark().line + 1);
    if (value.IsNull()) throw ConfigError(prefix + ": no value given");
    if (spec.kind == SettingKind::kList) {
      applyList(spec, value, prefix, source);
    } else if (!value.IsScalar()) {
      throw ConfigError(prefix + ": expected a single value, got " + describe(value));
    } else {
      writer_.set(spec, value.Scalar(), prefix, source);
    }
  }

 private:
  const SettingSpec& findRow(const YAML::Node& key) {
    std::string where = position(path_, key.Mark());
    if (!key.IsScalar()) {
      throw ConfigError(where + ": expected a setting name, got " + describe(key));
    }
    const std::string& name = key.Scalar();
    const SettingSpec* spec = findSetting(name);
    if (spec == nullptr) throw ConfigError(where + ": " + unknownKey(name));
    auto [first, inserted] = seen_.emplace(name, key.Mark());
    if (!inserted) {
      throw ConfigError(where + ": " + spec->name + " is given twice (first at line " +
                        std::to_string(first->second.line + 1) + ")");
    }
    return *spec;
  }

  static std::string unknownKey(const std::string& name) {
    std::vector<std::string> names;
    for (const SettingSpec& spec : settingsTable()) names.push_back(spec.name);
    std::string nearest = closestName(name, names);
    std::string message = "unknown key " + quote(name);
    return nearest.empty() ? message : message + " (did you mean '" + nearest + "'?)";
  }

  // Every bad item is reported, not only the first.
  void applyList(const SettingSpec& spec, const YAML::Node& value, const std::string& prefix,
                 const std::string& source) {
    if (!value.IsSequence()) {
      throw ConfigError(prefix + ": expected a list, got " + describe(value));
    }
    writer_.clearList(spec, source);
    ErrorList errors;
    for (const YAML::Node& item : value) {
      std::string where = position(path_, item.Mark()) + ": " + spec.name;
      if (!item.IsScalar()) {
        errors.add(where + ": expected a list of strings, got " + describe(item));
        continue;
      }
      errors.attempt([&] { writer_.set(spec, item.Scalar(), where, source); });
    }
    errors.throwIfAny();
  }

  const std::string& path_;
  SettingWriter writer_;
  std::map<std::string, YAML::Mark> seen_;
};

}  // namespace

void applyYamlFile(const std::string& path, Settings& settings) {
  YAML::Node root = parseFile(path);
  settings.config_file = path;
  if (root.IsNull()) return;  // an empty file, or only comments
  if (!root.IsMap()) {
    throw ConfigError(position(path, root.Mark()) +
                      ": expected settings as key: value lines, got " + describe(root));
  }
  // Every bad key and value is reported, so one edit fixes them all; the good ones stay
  // applied, so later checks ("no app given") do not report what the file did give.
  YamlApplier applier(path, settings);
  ErrorList errors;
  for (const auto& entry : root) {
    errors.attempt([&] { applier.apply(entry.first, entry.second); });
  }
  errors.throwIfAny();
}

Settings loadYamlFile(const std::string& path, Settings base) {
  applyYamlFile(path, base);
  return base;
}

}  // namespace asgid::config
