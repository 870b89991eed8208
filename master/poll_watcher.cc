#include "master/poll_watcher.h"

#include <sys/stat.h>

namespace asgid::master {
namespace {

bool stampOf(const std::string& path, ino_t& inode, off_t& size, long long& mtime_ns) {
  struct stat info;
  if (stat(path.c_str(), &info) != 0 || S_ISDIR(info.st_mode)) return false;
  inode = info.st_ino;
  size = info.st_size;
  mtime_ns = info.st_mtim.tv_sec * 1000000000LL + info.st_mtim.tv_nsec;
  return true;
}

}  // namespace

PollWatcher::PollWatcher(struct ev_loop* loop, const WatchTree& tree, OnChange on_change,
                         double interval)
    : loop_(loop), tree_(tree), on_change_(std::move(on_change)), stamps_(snapshot()) {
  ev_timer_init(&timer_, onTimer, interval, interval);
  timer_.data = this;
  ev_timer_start(loop_, &timer_);
}

PollWatcher::~PollWatcher() {
  ev_timer_stop(loop_, &timer_);
}

PollWatcher::Snapshot PollWatcher::snapshot() const {
  Snapshot files;
  auto record = [&](const std::string& path) {
    if (!tree_.watches(path)) return;
    Stamp stamp;
    if (stampOf(path, stamp.inode, stamp.size, stamp.mtime_ns)) files[path] = stamp;
  };
  for (const std::string& root : tree_.roots) {
    walkTree(
        tree_, root, [](const std::string&) { return true; }, record);
  }
  for (const std::string& file : tree_.files) record(file);
  return files;
}

void PollWatcher::onTimer(struct ev_loop*, ev_timer* watcher, int) {
  static_cast<PollWatcher*>(watcher->data)->poll();
}

void PollWatcher::poll() {
  Snapshot now = snapshot();
  for (const auto& [path, stamp] : now) {
    auto before = stamps_.find(path);
    if (before == stamps_.end() || !(before->second == stamp)) on_change_(path);
  }
  for (const auto& [path, stamp] : stamps_) {
    if (!now.contains(path)) on_change_(path);  // deleted or renamed away
  }
  stamps_ = std::move(now);
}

}  // namespace asgid::master
