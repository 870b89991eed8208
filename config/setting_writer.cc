#include "config/setting_writer.h"

namespace asgid::config {

void SettingWriter::set(const SettingSpec& spec, std::string_view text, std::string_view where) {
  if (spec.kind == SettingKind::kList && !lists_given_.contains(&spec)) clearList(spec);
  try {
    spec.assign(settings_, text);
  } catch (const ValueError& e) {
    throw ConfigError(std::string(where) + ": " + e.what());
  }
}

void SettingWriter::clearList(const SettingSpec& spec) {
  spec.clear(settings_);
  lists_given_.insert(&spec);
}

}  // namespace asgid::config
