// The interface of the master's file watchers (inotify, or stat polling), driven by libev
// watchers on the master's loop. Workers know nothing of them.
#pragma once

#include <cstddef>
#include <functional>
#include <stdexcept>
#include <string>

namespace asgid::master {

// A changed file (absolute path), already filtered by the WatchTree.
using OnChange = std::function<void(const std::string& path)>;

// inotify ran out (max_user_watches, max_user_instances) while running: the message says
// which limit and how to raise it. Called from the loop; the watcher must then be replaced.
using OnExhausted = std::function<void(const std::string& message)>;

// Thrown by a watcher's constructor when inotify cannot be used at all.
class WatchUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class FileWatcher {
 public:
  virtual ~FileWatcher() = default;
  // "inotify" or "polling".
  virtual const char* method() const = 0;
  // Directories watched (inotify) or files polled.
  virtual size_t watchCount() const = 0;
};

// Seconds between two polls of the tree (--reload-poll, and the fallback).
constexpr double kPollInterval = 1.0;

}  // namespace asgid::master
