// Debouncing and coalescing of file changes: a burst of saves (an editor writing three files,
// a `git checkout` of 500) becomes one restart, and the restart's log line names the first
// changed file and how many more changed.
//
// Pure: the caller passes the time in and runs the timer.
#pragma once

#include <string>
#include <unordered_set>
#include <vector>

namespace asgid::master {

class ChangeBatch {
 public:
  // The batch is due `quiet` seconds after its last change, but never more than `max_wait`
  // after its first (a file rewritten without pause must not put the restart off forever).
  ChangeBatch(double quiet, double max_wait) : quiet_(quiet), max_wait_(max_wait) {}

  // Records a change at time `now`; a path already in the batch counts once.
  void add(const std::string& path, double now);

  bool empty() const { return paths_.empty(); }

  // When the batch should fire; meaningful only when not empty.
  double dueAt() const;

  // The changed paths in the order they first changed; empties the batch.
  std::vector<std::string> take();

 private:
  double quiet_;
  double max_wait_;
  double first_ = 0;
  double last_ = 0;
  std::vector<std::string> paths_;
  std::unordered_set<std::string> seen_;
};

// "app/main.py", "app/main.py and 3 more" (the paths as given).
std::string describeChanges(const std::vector<std::string>& paths);

}  // namespace asgid::master
