#include "config/setting_writer.h"

namespace asgid::config {
namespace {

// An alias row's values belong to the row it spells differently.
const std::string& settingName(const SettingSpec& spec) {
  return spec.alias_of.empty() ? spec.name : spec.alias_of;
}

}  // namespace

void SettingWriter::set(const SettingSpec& spec, std::string_view text, std::string_view where,
                        std::string_view source) {
  if (spec.kind == SettingKind::kList && !lists_given_.contains(&spec)) clearList(spec, source);
  try {
    spec.assign(settings_, text);
  } catch (const ValueError& e) {
    throw ConfigError(std::string(where) + ": " + e.what());
  }
  std::string_view from = source.empty() ? where : source;
  settings_.sources[settingName(spec)] = from;
  // An alias is remembered by its own name too, for its notice.
  if (!spec.alias_of.empty()) settings_.sources[spec.name] = from;
}

void SettingWriter::clearList(const SettingSpec& spec, std::string_view source) {
  spec.clear(settings_);
  lists_given_.insert(&spec);
  if (!source.empty()) settings_.sources[settingName(spec)] = source;
}

}  // namespace asgid::config
