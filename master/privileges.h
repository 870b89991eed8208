// Process settings applied by the master before it forks: --umask, --chdir, and --user/--group
// (dropped after the listeners are bound, so a port below 1024 works).
#pragma once

#include "config/settings.h"

namespace asgid::master {

// Throws std::runtime_error naming the setting.
void applyProcessSettings(const config::Settings& settings);
void dropPrivileges(const config::Settings& settings);

}  // namespace asgid::master
