#include "master/poll_watcher.h"

#include <sys/stat.h>
#include <time.h>

namespace asgid::master {
namespace {

// A directory modified less than this long ago is listed again at the next pass: an entry
// added within the same tick of the file system's clock leaves its mtime unchanged.
constexpr long long kUnsettledNs = 2'000'000'000LL;

long long nanoseconds(const timespec& time) {
  return time.tv_sec * 1'000'000'000LL + time.tv_nsec;
}

long long nowNs() {
  timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  return nanoseconds(now);
}

}  // namespace

PollWatcher::PollWatcher(struct ev_loop* loop, const WatchTree& tree, OnChange on_change,
                         double interval)
    : loop_(loop), tree_(tree), on_change_(std::move(on_change)) {
  scan(false);
  ev_timer_init(&timer_, onTimer, interval, interval);
  timer_.data = this;
  ev_timer_start(loop_, &timer_);
}

PollWatcher::~PollWatcher() {
  ev_timer_stop(loop_, &timer_);
}

void PollWatcher::onTimer(struct ev_loop*, ev_timer* watcher, int) {
  static_cast<PollWatcher*>(watcher->data)->scan(true);
}

void PollWatcher::scan(bool report) {
  ++pass_;
  for (const std::string& root : tree_.roots) visit(root, report);
  for (const std::string& file : tree_.files) check(file, report);
  for (auto it = stamps_.begin(); it != stamps_.end();) {
    if (it->second.pass == pass_) {
      ++it;
      continue;
    }
    if (report) on_change_(it->first);  // deleted, or renamed away
    it = stamps_.erase(it);
  }
  std::erase_if(listings_, [this](const auto& entry) { return entry.second.pass != pass_; });
}

void PollWatcher::visit(const std::string& dir, bool report) {
  struct stat info;
  if (stat(dir.c_str(), &info) != 0 || !S_ISDIR(info.st_mode)) return;
  Listing& listing = listings_[dir];
  listing.pass = pass_;
  const long long mtime = nanoseconds(info.st_mtim);
  if (listing.mtime_ns != mtime || nowNs() - mtime < kUnsettledNs) {
    std::vector<std::string> files;
    listing.files.clear();
    listing.subdirs.clear();
    listDirectory(tree_, dir, files, listing.subdirs);
    for (std::string& file : files) {
      if (tree_.watches(file)) listing.files.push_back(std::move(file));
    }
    listing.mtime_ns = mtime;
  }
  for (const std::string& file : listing.files) check(file, report);
  // `listing` stays valid: an unordered_map's rehash moves no element, and listings are only
  // erased after the pass.
  for (const std::string& subdir : listing.subdirs) visit(subdir, report);
}

void PollWatcher::check(const std::string& file, bool report) {
  struct stat info;
  if (stat(file.c_str(), &info) != 0 || S_ISDIR(info.st_mode)) return;
  const long long mtime = nanoseconds(info.st_mtim);
  auto [it, added] = stamps_.try_emplace(file);
  Stamp& stamp = it->second;
  bool changed = !added && (stamp.inode != info.st_ino || stamp.size != info.st_size ||
                            stamp.mtime_ns != mtime);
  stamp = {info.st_ino, info.st_size, mtime, pass_};
  if (report && (added || changed)) on_change_(file);
}

}  // namespace asgid::master
