// Watches a WatchTree by stat()ing every watched file each kPollInterval: for file systems
// that deliver no inotify events (network and some container mounts) and as the fallback when
// inotify runs out.
//
// Principle: a pass costs one stat per directory and one per watched file. A directory is
// listed (readdir, pruning, glob matching) again only when its modification time changed, or
// changed so recently that an entry added within the same clock tick could hide.
#pragma once

#include <ev.h>
#include <sys/types.h>

#include <string>
#include <unordered_map>
#include <vector>

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
    unsigned pass = 0;  // the last pass that saw the file
  };
  struct Listing {
    long long mtime_ns = -1;
    unsigned pass = 0;
    std::vector<std::string> files;  // the watched ones only
    std::vector<std::string> subdirs;
  };

  static void onTimer(struct ev_loop* loop, ev_timer* watcher, int events);
  void scan(bool report);
  void visit(const std::string& dir, bool report);
  void check(const std::string& file, bool report);

  struct ev_loop* loop_;
  const WatchTree& tree_;
  OnChange on_change_;
  ev_timer timer_;
  unsigned pass_ = 0;
  std::unordered_map<std::string, Stamp> stamps_;
  std::unordered_map<std::string, Listing> listings_;
};

}  // namespace asgid::master
