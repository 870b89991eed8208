// The channel between the master and one worker: a SOCK_SEQPACKET socketpair, one byte per
// message from the worker to the master. The master speaks to workers with signals (TERM:
// drain and exit, QUIT: exit now, USR1: reopen logs, ABRT: dump Python stacks and die).
#pragma once

#include <sys/socket.h>

namespace asgid::control {

enum Message : char {
  kReady = 'R',      // the app is imported, lifespan startup completed, accepting
  kHeartbeat = 'H',  // written from the worker's event loop: the loop is turning
  kRetire = 'X',     // the worker reached --limit-max-requests: replace me, then drain me
};

inline bool send(int fd, Message message) {
  char byte = message;
  return fd >= 0 && ::send(fd, &byte, 1, MSG_DONTWAIT | MSG_NOSIGNAL) == 1;
}

}  // namespace asgid::control
