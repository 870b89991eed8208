#include "master/privileges.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

namespace asgid::master {

void applyProcessSettings(const config::Settings& settings) {
  if (settings.umask >= 0) umask(static_cast<mode_t>(settings.umask));
  if (!settings.chdir.empty() && chdir(settings.chdir.c_str()) < 0) {
    throw std::runtime_error("--chdir " + settings.chdir + ": " + strerror(errno));
  }
}

log::FileOwner Identity::fileOwner() const {
  if (!changes) return {};
  return {uid, gid};
}

Identity resolveIdentity(const config::Settings& settings) {
  Identity identity;
  if (settings.user.empty() && settings.group.empty()) return identity;
  identity.changes = true;
  identity.uid = getuid();
  identity.gid = getgid();
  if (!settings.user.empty()) {
    const passwd* user = getpwnam(settings.user.c_str());
    if (user == nullptr) throw std::runtime_error("--user " + settings.user + ": no such user");
    identity.user = user->pw_name;
    identity.uid = user->pw_uid;
    identity.gid = user->pw_gid;
  }
  if (!settings.group.empty()) {
    const group* found = getgrnam(settings.group.c_str());
    if (found == nullptr) throw std::runtime_error("--group " + settings.group + ": no such group");
    identity.gid = found->gr_gid;
  }
  return identity;
}

void dropPrivileges(const Identity& identity) {
  if (!identity.changes) return;
  // Group first: once the user changes, the group can no longer be changed.
  if (setgid(identity.gid) < 0) {
    throw std::runtime_error(std::string("setgid: ") + strerror(errno));
  }
  if (!identity.user.empty() && initgroups(identity.user.c_str(), identity.gid) < 0) {
    throw std::runtime_error(std::string("initgroups: ") + strerror(errno));
  }
  if (identity.uid != getuid() && setuid(identity.uid) < 0) {
    throw std::runtime_error(std::string("setuid: ") + strerror(errno));
  }
}

}  // namespace asgid::master
