// --reload: watches the source tree from the master's loop and, once a burst of changes has
// settled (--reload-delay), asks the master to restart its workers, naming what changed.
//
// Principle: the Reloader only watches and debounces; what a restart is belongs to the
// master. inotify is the default; polling is used when asked (--reload-poll) or when inotify
// runs out, which is said once, with the sysctl that would avoid it.
#pragma once

#include <ev.h>

#include <functional>
#include <memory>
#include <string>

#include "config/settings.h"
#include "master/change_batch.h"
#include "master/file_watcher.h"
#include "master/watch_tree.h"

namespace asgid::master {

class Reloader {
 public:
  // Called from the loop with the changes' description ("app/main.py and 3 more"). The
  // Reloader must not be destroyed from inside this call.
  using OnReload = std::function<void(const std::string& description)>;

  // Builds the watch tree from `settings` (in the current directory) and starts watching.
  // Throws std::runtime_error when there is nothing to watch.
  Reloader(struct ev_loop* loop, const config::Settings& settings, OnReload on_reload);
  ~Reloader();
  Reloader(const Reloader&) = delete;
  Reloader& operator=(const Reloader&) = delete;

 private:
  void watchWithInotify();
  void watchByPolling();
  void onChange(const std::string& path);
  static void onDue(struct ev_loop* loop, ev_timer* watcher, int events);
  static void onFallback(struct ev_loop* loop, ev_timer* watcher, int events);

  struct ev_loop* loop_;
  WatchTree tree_;
  ChangeBatch batch_;
  OnReload on_reload_;
  std::unique_ptr<FileWatcher> watcher_;
  ev_timer due_;       // the batch's quiet time is over
  ev_timer fallback_;  // replaces an exhausted inotify watcher outside its own callback
};

}  // namespace asgid::master
