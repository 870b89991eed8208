// The channel between the master and one worker: a SOCK_SEQPACKET socketpair, one byte per
// message. The worker reports on it; the master speaks to workers with signals (TERM: drain
// and exit, QUIT: exit now, USR1: reopen logs, ABRT: dump Python stacks and die) and writes one
// byte before a TERM that replaces the worker (kReplacing), so that its open WebSockets are
// closed with 1012 "service restart" rather than 1001 "going away".
#pragma once

#include <sys/socket.h>

namespace asgid::control {

enum Message : char {
  kReady = 'R',      // the app is imported, lifespan startup completed, accepting
  kHeartbeat = 'H',  // written from the worker's event loop: the loop is turning
  kRetire = 'X',     // the worker reached --limit-max-requests: replace me, then drain me
  // Master to worker.
  kReplacing = 'G',  // the TERM that follows is a reload or a recycle, not a stop
};

// Whether the master wrote kReplacing (reads what is waiting, without blocking).
inline bool replacingAnnounced(int fd) {
  char bytes[16];
  bool replacing = false;
  ssize_t got;
  while (fd >= 0 && (got = ::recv(fd, bytes, sizeof bytes, MSG_DONTWAIT)) > 0) {
    for (ssize_t i = 0; i < got; ++i) replacing = replacing || bytes[i] == kReplacing;
  }
  return replacing;
}

inline bool send(int fd, Message message) {
  char byte = message;
  return fd >= 0 && ::send(fd, &byte, 1, MSG_DONTWAIT | MSG_NOSIGNAL) == 1;
}

}  // namespace asgid::control
