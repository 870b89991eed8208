#include "master/change_batch.h"

#include <algorithm>

namespace asgid::master {

void ChangeBatch::add(const std::string& path, double now) {
  if (paths_.empty()) first_ = now;
  last_ = now;
  if (seen_.insert(path).second) paths_.push_back(path);
}

double ChangeBatch::dueAt() const {
  return std::min(last_ + quiet_, first_ + max_wait_);
}

std::vector<std::string> ChangeBatch::take() {
  std::vector<std::string> paths = std::move(paths_);
  paths_.clear();
  seen_.clear();
  return paths;
}

std::string describeChanges(const std::vector<std::string>& paths) {
  if (paths.empty()) return "nothing";
  if (paths.size() == 1) return paths.front();
  return paths.front() + " and " + std::to_string(paths.size() - 1) + " more";
}

}  // namespace asgid::master
