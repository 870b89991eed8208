// The open-file limit. Each connection costs a descriptor, and the distro default soft limit
// (1024) is far below what one worker can serve; the hard limit is what the administrator (or
// systemd's LimitNOFILE) allows. asgid raises its soft limit to the hard one at start, before
// forking, so every worker inherits it.
#pragma once

#include <cstdint>

namespace asgid::master {

struct FileLimit {
  uint64_t before = 0;  // the soft limit found
  uint64_t now = 0;     // the soft limit after raising (== before if it could not be raised)
  uint64_t hard = 0;
};

// Raises the soft RLIMIT_NOFILE to the hard limit. Never fails: the limits found are
// returned either way.
FileLimit raiseFileLimit();

}  // namespace asgid::master
