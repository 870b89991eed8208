#include "master/reloader.h"

#include <chrono>

#include "common/log.h"
#include "master/inotify_watcher.h"
#include "master/poll_watcher.h"

namespace asgid::master {
namespace {

// A batch fires at the latest this many delays after its first change.
constexpr double kMaxWaitInDelays = 20.0;

double millisecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

std::string describeRoots(const WatchTree& tree) {
  std::string roots;
  for (const std::string& root : tree.roots) {
    roots += (roots.empty() ? "" : ", ") + displayPath(root);
  }
  return roots;
}

}  // namespace

Reloader::Reloader(struct ev_loop* loop, const config::Settings& settings, OnReload on_reload)
    : loop_(loop),
      tree_(buildWatchTree(settings)),
      batch_(settings.reload_delay, settings.reload_delay * kMaxWaitInDelays),
      on_reload_(std::move(on_reload)) {
  ev_timer_init(&due_, onDue, 0.0, 0.0);
  due_.data = this;
  ev_timer_init(&fallback_, onFallback, 0.0, 0.0);
  fallback_.data = this;
  if (settings.reload_poll) {
    watchByPolling();
  } else {
    watchWithInotify();
  }
}

Reloader::~Reloader() {
  ev_timer_stop(loop_, &due_);
  ev_timer_stop(loop_, &fallback_);
}

void Reloader::watchWithInotify() {
  auto start = std::chrono::steady_clock::now();
  try {
    watcher_ = std::make_unique<InotifyWatcher>(
        loop_, tree_, [this](const std::string& path) { onChange(path); },
        [this](const std::string& message) {
          log::main().warn("--reload: {}; polling every {:g}s from now on", message, kPollInterval);
          ev_timer_start(loop_, &fallback_);
        });
  } catch (const WatchUnavailable& error) {
    watcher_.reset();  // closes the inotify descriptor and frees its watches first
    log::main().warn("--reload: {}; polling every {:g}s instead", error.what(), kPollInterval);
    watchByPolling();
    return;
  }
  log::main().info("--reload: watching {} with inotify ({} directories, {:.0f} ms)",
                   describeRoots(tree_), watcher_->watchCount(), millisecondsSince(start));
}

void Reloader::watchByPolling() {
  auto start = std::chrono::steady_clock::now();
  watcher_.reset();
  watcher_ = std::make_unique<PollWatcher>(loop_, tree_,
                                           [this](const std::string& path) { onChange(path); });
  log::main().info("--reload: polling {} every {:g}s ({} files, {:.0f} ms)", describeRoots(tree_),
                   kPollInterval, watcher_->watchCount(), millisecondsSince(start));
}

void Reloader::onChange(const std::string& path) {
  const double now = ev_now(loop_);
  batch_.add(displayPath(path), now);
  ev_timer_stop(loop_, &due_);
  ev_timer_set(&due_, std::max(0.0, batch_.dueAt() - now), 0.0);
  ev_timer_start(loop_, &due_);
}

void Reloader::onDue(struct ev_loop*, ev_timer* watcher, int) {
  auto* self = static_cast<Reloader*>(watcher->data);
  if (self->batch_.empty()) return;
  self->on_reload_(describeChanges(self->batch_.take()));
}

void Reloader::onFallback(struct ev_loop*, ev_timer* watcher, int) {
  static_cast<Reloader*>(watcher->data)->watchByPolling();
}

}  // namespace asgid::master
