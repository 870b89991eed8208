#include "master/privileges.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

#include "config/config_report.h"

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

std::vector<std::string> checkPathsAs(const Identity& identity, const config::Settings& settings) {
  if (!identity.changes || geteuid() != 0) return config::checkPaths(settings);
  int fds[2];
  if (pipe(fds) < 0) throw std::runtime_error(std::string("pipe: ") + strerror(errno));
  pid_t child = fork();
  if (child < 0) throw std::runtime_error(std::string("fork: ") + strerror(errno));
  if (child == 0) {
    close(fds[0]);
    std::string text;
    try {
      applyProcessSettings(settings);
      dropPrivileges(identity);
      for (const std::string& line :
           config::checkPaths(settings, config::PathBase::kChdirApplied)) {
        text += line + "\n";
      }
    } catch (const std::exception& error) {
      text = std::string(error.what()) + "\n";  // --chdir missing, or the drop refused
    }
    for (size_t done = 0; done < text.size();) {
      ssize_t wrote = write(fds[1], text.data() + done, text.size() - done);
      if (wrote <= 0) _exit(1);
      done += static_cast<size_t>(wrote);
    }
    _exit(0);
  }
  close(fds[1]);
  std::string text;
  char buffer[4096];
  for (ssize_t got; (got = read(fds[0], buffer, sizeof buffer)) != 0;) {
    if (got > 0)
      text.append(buffer, static_cast<size_t>(got));
    else if (errno != EINTR)
      break;
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error("the check as user " + identity.user + " failed");
  }
  std::vector<std::string> problems;
  for (size_t start = 0; start < text.size();) {
    size_t end = text.find('\n', start);
    problems.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return problems;
}

}  // namespace asgid::master
