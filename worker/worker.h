// A worker process: embeds Python, imports the app, runs lifespan startup, serves HTTP on the
// listeners it is given until a signal, drains, runs lifespan shutdown, and returns the exit
// code. Signals are libev watchers on the worker's loop: a handler only records, the loop acts.
#pragma once

#include <vector>

#include "config/settings.h"
#include "worker/http/http_server.h"

namespace asgid::worker {

// Exit codes of a worker.
constexpr int kExitOk = 0;
constexpr int kExitAppError = 1;       // the app could not be imported or started
constexpr int kExitConfigError = 2;    // a setting only the worker can check (--log-config)
constexpr int kExitStartupFailed = 3;  // lifespan startup failed

// How a worker is tied to its master.
struct WorkerLink {
  int control_fd = -1;   // control channel (common/control_channel.h); -1: none
  int index = 0;         // "asgid: worker <index>"
  int max_requests = 0;  // ask to be replaced after this many requests; 0: never
  bool announce = true;  // log "Listening on" itself (false: the master does it)
};

// --preload: initialises Python and imports the app in the calling process (the master) so
// the forked workers share its memory copy-on-write. False (error logged) if it cannot.
bool preloadApp(const config::Settings& settings);
bool preloaded();
// CPython's fork hooks, around fork() in a master that preloaded.
void beforeFork();
void afterForkInParent();
void afterForkInChild();

int run(const config::Settings& settings, const std::vector<http::ListenerInfo>& listeners,
        const std::vector<std::string>& urls, const WorkerLink& link);

}  // namespace asgid::worker
