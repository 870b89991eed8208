// ASGID_* environment variables: one per row of the settings table (ASGID_<NAME>), plus
// ASGID_CONFIG for the YAML file. Like click's, an empty variable counts as unset, so a
// container template can leave one blank.
#pragma once

#include "config/settings.h"

namespace asgid::config {

inline constexpr char kConfigFileEnv[] = "ASGID_CONFIG";

// The variable's value, or empty when it is unset or empty.
std::string readEnv(const EnvLookup& env, const std::string& name);

// Takes rows' defaults from the variables they fall back to ($VIRTUAL_ENV for venv).
void applyFallbackDefaults(const EnvLookup& env, Settings& settings);

// Applies every ASGID_<NAME>. A list row's variable holds one item per line. Throws ConfigError
// naming the variable.
void applyEnvironment(const EnvLookup& env, Settings& settings);

}  // namespace asgid::config
