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

void dropPrivileges(const config::Settings& settings) {
  if (settings.user.empty() && settings.group.empty()) return;
  uid_t uid = getuid();
  gid_t gid = getgid();
  const passwd* user = nullptr;
  if (!settings.user.empty()) {
    user = getpwnam(settings.user.c_str());
    if (user == nullptr) throw std::runtime_error("--user " + settings.user + ": no such user");
    uid = user->pw_uid;
    gid = user->pw_gid;
  }
  if (!settings.group.empty()) {
    const group* found = getgrnam(settings.group.c_str());
    if (found == nullptr) throw std::runtime_error("--group " + settings.group + ": no such group");
    gid = found->gr_gid;
  }
  // Group first: once the user changes, the group can no longer be changed.
  if (setgid(gid) < 0) throw std::runtime_error(std::string("setgid: ") + strerror(errno));
  if (user != nullptr && initgroups(user->pw_name, gid) < 0) {
    throw std::runtime_error(std::string("initgroups: ") + strerror(errno));
  }
  if (uid != getuid() && setuid(uid) < 0) {
    throw std::runtime_error(std::string("setuid: ") + strerror(errno));
  }
}

}  // namespace asgid::master
