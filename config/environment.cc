#include "config/environment.h"

#include <cstdlib>
#include <functional>

#include "config/setting_writer.h"
#include "config/settings_table.h"

namespace asgid::config {
namespace {

// Newline is the one separator no item can contain: header values may hold commas and
// spaces but never CR or LF.
void applyListVariable(const SettingSpec& spec, std::string_view text, SettingWriter& writer) {
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view item = text.substr(0, end);
    if (!item.empty()) writer.set(spec, item, spec.env);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
  }
}

}  // namespace

EnvLookup processEnvironment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return value;
  };
}

std::string readEnv(const EnvLookup& env, const std::string& name) {
  return env(name).value_or("");
}

void applyFallbackDefaults(const EnvLookup& env, Settings& settings) {
  SettingWriter writer(settings);
  ErrorList errors;
  for (const SettingSpec& spec : settingsTable()) {
    if (spec.fallback_env.empty()) continue;
    std::string value = readEnv(env, spec.fallback_env);
    if (!value.empty()) errors.attempt([&] { writer.set(spec, value, spec.fallback_env); });
  }
  errors.throwIfAny();
}

void applyEnvironment(const EnvLookup& env, Settings& settings) {
  SettingWriter writer(settings);
  ErrorList errors;
  for (const SettingSpec& spec : settingsTable()) {
    std::string value = readEnv(env, spec.env);
    if (value.empty()) continue;
    errors.attempt([&] {
      if (spec.kind == SettingKind::kList) {
        applyListVariable(spec, value, writer);
      } else {
        writer.set(spec, value, spec.env);
      }
    });
  }
  errors.throwIfAny();
}

}  // namespace asgid::config
