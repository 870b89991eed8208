#include "master/file_limit.h"

#include <sys/resource.h>

namespace asgid::master {

FileLimit raiseFileLimit() {
  FileLimit result;
  struct rlimit limit {};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return result;
  result.before = result.now = limit.rlim_cur;
  result.hard = limit.rlim_max;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &limit) == 0) result.now = limit.rlim_max;
  }
  return result;
}

}  // namespace asgid::master
