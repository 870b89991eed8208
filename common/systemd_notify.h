// sd_notify(3) without libsystemd: one datagram to $NOTIFY_SOCKET ("READY=1", "RELOADING=1",
// "STOPPING=1", "STATUS=...", "MAINPID=...", "WATCHDOG=1"). A no-op when the variable is unset,
// so nothing depends on systemd.
#pragma once

#include <string>

namespace asgid::systemd {

// Whether $NOTIFY_SOCKET is set.
bool enabled();
// Sends `state` (newline-separated assignments). Returns false if it could not be sent.
bool notify(const std::string& state);
// The watchdog interval from $WATCHDOG_USEC (and $WATCHDOG_PID, if set, naming this process),
// in seconds; 0 when the watchdog is off.
double watchdogInterval();

}  // namespace asgid::systemd
