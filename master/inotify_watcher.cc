#include "master/inotify_watcher.h"

#include <errno.h>
#include <string.h>
#include <sys/inotify.h>

#include <filesystem>
#include <fstream>

namespace asgid::master {
namespace {

constexpr uint32_t kDirectoryEvents = IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_FROM |
                                      IN_MOVED_TO | IN_ONLYDIR | IN_DONT_FOLLOW | IN_EXCL_UNLINK;

std::string readProcValue(const char* path) {
  std::ifstream in(path);
  std::string value;
  in >> value;
  return value.empty() ? "?" : value;
}

std::string exhaustedMessage(int error) {
  if (error == ENOSPC) {
    return "inotify ran out of watches (fs.inotify.max_user_watches = " +
           readProcValue("/proc/sys/fs/inotify/max_user_watches") +
           "); raise it with `sysctl fs.inotify.max_user_watches=524288`";
  }
  if (error == EMFILE) {
    return "inotify ran out of instances (fs.inotify.max_user_instances = " +
           readProcValue("/proc/sys/fs/inotify/max_user_instances") +
           "); raise it with `sysctl fs.inotify.max_user_instances=1024`";
  }
  return std::string("inotify is not available: ") + strerror(error);
}

std::string join(const std::string& dir, const std::string& name) {
  return dir == "/" ? "/" + name : dir + "/" + name;
}

}  // namespace

InotifyWatcher::InotifyWatcher(struct ev_loop* loop, const WatchTree& tree, OnChange on_change,
                               OnExhausted on_exhausted)
    : loop_(loop),
      tree_(tree),
      on_change_(std::move(on_change)),
      on_exhausted_(std::move(on_exhausted)) {
  fd_.reset(inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!fd_) throw WatchUnavailable(exhaustedMessage(errno));
  for (const std::string& root : tree_.roots) {
    if (!addTree(root)) throw WatchUnavailable(exhaustedMessage(ENOSPC));
  }
  // A file watched wherever it is (--config): a watch on its directory, for that name only.
  for (const std::string& file : tree_.files) {
    if (addWatch(std::filesystem::path(file).parent_path().string(), false) == Added::kExhausted)
      throw WatchUnavailable(exhaustedMessage(ENOSPC));
  }
  ev_io_init(&io_, onReadable, fd_.get(), EV_READ);
  io_.data = this;
  ev_io_start(loop_, &io_);
}

InotifyWatcher::~InotifyWatcher() {
  ev_io_stop(loop_, &io_);
}

InotifyWatcher::Added InotifyWatcher::addWatch(const std::string& dir, bool recursive_part) {
  int wd = inotify_add_watch(fd_.get(), dir.c_str(), kDirectoryEvents);
  if (wd < 0) {
    if (errno == ENOSPC || errno == ENOMEM) return Added::kExhausted;
    return Added::kGone;  // removed meanwhile, or not a directory any more
  }
  paths_[wd] = dir;  // the same directory again gives the same descriptor
  if (recursive_part) tree_wds_.insert(wd);
  return Added::kOk;
}

bool InotifyWatcher::addTree(const std::string& root) {
  return walkTree(
      tree_, root,
      [this](const std::string& dir) { return addWatch(dir, true) != Added::kExhausted; },
      [](const std::string&) {});
}

void InotifyWatcher::onReadable(struct ev_loop*, ev_io* watcher, int) {
  static_cast<InotifyWatcher*>(watcher->data)->readEvents();
}

void InotifyWatcher::readEvents() {
  alignas(inotify_event) char buffer[64 * 1024];
  while (!out_of_watches_) {
    ssize_t got = read(fd_.get(), buffer, sizeof buffer);
    if (got <= 0) return;  // EAGAIN: drained
    for (char* at = buffer; at < buffer + got;) {
      const auto* event = reinterpret_cast<const inotify_event*>(at);
      at += sizeof(inotify_event) + event->len;
      if (event->mask & IN_Q_OVERFLOW) {
        // Events were lost: something changed, but no one can say what.
        on_change_("(inotify event queue overflowed)");
        continue;
      }
      if (event->mask & IN_IGNORED) {
        paths_.erase(event->wd);
        tree_wds_.erase(event->wd);
        continue;
      }
      handle(event->wd, event->mask, event->len > 0 ? std::string(event->name) : std::string());
    }
  }
}

void InotifyWatcher::handle(int wd, uint32_t mask, const std::string& name) {
  auto found = paths_.find(wd);
  if (found == paths_.end() || name.empty()) return;
  std::string path = join(found->second, name);
  bool in_tree = tree_wds_.contains(wd);
  if (!(mask & IN_ISDIR)) {
    if (tree_.watches(path)) on_change_(path);
    return;
  }
  if (!in_tree || tree_.prunes(path, name)) return;
  if (mask & (IN_CREATE | IN_MOVED_TO)) onNewDirectory(path);
  if (mask & IN_MOVED_FROM) {
    // A package renamed or moved away: its modules moved, so that is a change; its old
    // watches would report under the old name.
    forgetTree(path);
    on_change_(path);
  }
}

// The directory may have been filled before its watch existed (mkdir -p a/b && cp, or a move
// into the tree): every watched file found in it is reported.
void InotifyWatcher::onNewDirectory(const std::string& path) {
  bool complete = walkTree(
      tree_, path,
      [this](const std::string& dir) { return addWatch(dir, true) != Added::kExhausted; },
      [this](const std::string& file) {
        if (tree_.watches(file)) on_change_(file);
      });
  if (!complete) {
    on_change_(path);  // some of its files may be unseen: count the directory as changed
    exhausted();
  }
}

void InotifyWatcher::forgetTree(const std::string& dir) {
  for (auto it = paths_.begin(); it != paths_.end();) {
    const std::string& path = it->second;
    bool below = path == dir || (path.starts_with(dir) && path[dir.size()] == '/');
    if (below && tree_wds_.contains(it->first)) {
      inotify_rm_watch(fd_.get(), it->first);
      tree_wds_.erase(it->first);
      it = paths_.erase(it);
    } else {
      ++it;
    }
  }
}

void InotifyWatcher::exhausted() {
  if (out_of_watches_) return;
  out_of_watches_ = true;
  ev_io_stop(loop_, &io_);
  on_exhausted_(exhaustedMessage(ENOSPC));
}

}  // namespace asgid::master
