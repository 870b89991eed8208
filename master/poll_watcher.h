// Watches a WatchTree by walking it and stat()ing every watched file each kPollInterval: for
// file systems that deliver no inotify events (network and some container mounts) and as the
// fallback when inotify runs out. Costs one walk of the pruned tree per interval.
#pragma once

#include <ev.h>
#include <sys/types.h>

#include <string>
#include <unordered_map>

#include "master/file_watcher.h"
#include "master/watch_tree.h"

namespace asgid::master {

class PollWatcher : public FileWatcher {
 public:
  // Takes the first snapshot now; `tree` must outlive the watcher.
  PollWatcher(struct ev_loop* loop, const WatchTree& tree, OnChange on_change,
              double interval = kPollInterval);
  ~PollWatcher() override;
  PollWatcher(const PollWatcher&) = delete;
  PollWatcher& operator=(const PollWatcher&) = delete;

  const char* method() const override { return "polling"; }
  size_t watchCount() const override { return stamps_.size(); }

 private:
  // What tells a file's versions apart: a rename onto it changes the inode, an edit the
  // modification time (nanoseconds) or the size.
  struct Stamp {
    ino_t inode = 0;
    off_t size = 0;
    long long mtime_ns = 0;
    bool operator==(const Stamp&) const = default;
  };
  using Snapshot = std::unordered_map<std::string, Stamp>;

  static void onTimer(struct ev_loop* loop, ev_timer* watcher, int events);
  Snapshot snapshot() const;
  void poll();

  struct ev_loop* loop_;
  const WatchTree& tree_;
  OnChange on_change_;
  ev_timer timer_;
  Snapshot stamps_;
};

}  // namespace asgid::master
