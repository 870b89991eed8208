// Watches a WatchTree with inotify: one watch per directory not pruned, added on the way down
// and for every directory created or moved in later (whose files are then reported, as they
// may have been written before the watch existed).
//
// Principle: a save is counted when the file is closed after writing (IN_CLOSE_WRITE) or moved
// into place (IN_MOVED_TO), not on every write(2): an editor's write-to-temp-then-rename is
// one event for the real name, and a log file held open never wakes the master.
#pragma once

#include <ev.h>

#include <string>
#include <unordered_map>
#include <unordered_set>

#include "common/unique_fd.h"
#include "master/file_watcher.h"
#include "master/watch_tree.h"

namespace asgid::master {

class InotifyWatcher : public FileWatcher {
 public:
  // Watches everything at once; throws WatchUnavailable (with the sysctl to raise) when
  // inotify is missing or runs out. `tree` must outlive the watcher.
  InotifyWatcher(struct ev_loop* loop, const WatchTree& tree, OnChange on_change,
                 OnExhausted on_exhausted);
  ~InotifyWatcher() override;
  InotifyWatcher(const InotifyWatcher&) = delete;
  InotifyWatcher& operator=(const InotifyWatcher&) = delete;

  const char* method() const override { return "inotify"; }
  size_t watchCount() const override { return paths_.size(); }

 private:
  enum class Added { kOk, kGone, kExhausted };

  static void onReadable(struct ev_loop* loop, ev_io* watcher, int events);
  void readEvents();
  void handle(int wd, uint32_t mask, const std::string& name);
  void onNewDirectory(const std::string& path);
  Added addWatch(const std::string& dir, bool recursive_part);
  bool addTree(const std::string& root);
  void forgetTree(const std::string& dir);
  void exhausted();

  struct ev_loop* loop_;
  const WatchTree& tree_;
  OnChange on_change_;
  OnExhausted on_exhausted_;
  UniqueFd fd_;
  ev_io io_;
  bool out_of_watches_ = false;
  std::unordered_map<int, std::string> paths_;  // watch descriptor -> directory
  std::unordered_set<int> tree_wds_;            // directories of the tree (not only a file's)
};

}  // namespace asgid::master
