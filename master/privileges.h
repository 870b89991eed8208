// Process settings applied by the master before it forks: --umask, --chdir, and --user/--group
// (dropped after the listeners are bound, so a port below 1024 works).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/log_file.h"
#include "config/settings.h"

namespace asgid::master {

// Who the processes become after the drop: --user's uid and primary group, --group overriding
// the group.
struct Identity {
  bool changes = false;  // --user or --group given
  std::string user;      // --user, "" if not given
  uid_t uid = static_cast<uid_t>(-1);
  gid_t gid = static_cast<gid_t>(-1);
  // The owner of what root creates for these processes before the drop (log files): they must
  // be able to reopen them on SIGUSR1. -1 ids (no change) when there is no drop.
  log::FileOwner fileOwner() const;
};

// Throws std::runtime_error naming the setting.
void applyProcessSettings(const config::Settings& settings);
Identity resolveIdentity(const config::Settings& settings);
void dropPrivileges(const Identity& identity);

// --check-config's directory checks as the workers will run them: in a child process that
// takes --umask and --chdir and drops to `identity`, so that root sees what nobody cannot read
// (config::checkPaths with PathBase::kChdirApplied). Without a change of identity, or when not
// root, the checks run here. Throws std::runtime_error if the child cannot be run.
std::vector<std::string> checkPathsAs(const Identity& identity, const config::Settings& settings);

}  // namespace asgid::master
