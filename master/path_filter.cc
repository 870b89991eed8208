#include "master/path_filter.h"

#include <fnmatch.h>

#include <algorithm>

namespace asgid::master {
namespace {

// uvicorn's defaults (uvicorn/supervisors/watchfilesreload.py), kept as they are spelled there
// so that a project's patterns mean the same to both.
const std::vector<std::string> kDefaultIncludes = {"*.py"};
const std::vector<std::string> kDefaultExcludes = {".*", ".py[cod]", ".sw.*", "~*"};

std::vector<std::string_view> components(std::string_view path) {
  std::vector<std::string_view> parts;
  while (!path.empty()) {
    size_t slash = path.find('/');
    std::string_view part = path.substr(0, slash);
    if (!part.empty() && part != ".") parts.push_back(part);
    path = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
  }
  return parts;
}

bool contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

void addOnce(std::vector<std::string>& list, const std::string& item) {
  if (!contains(list, item)) list.push_back(item);
}

}  // namespace

bool globMatch(std::string_view pattern, std::string_view path) {
  std::vector<std::string_view> want = components(pattern);
  std::vector<std::string_view> have = components(path);
  if (want.empty()) return false;
  bool anchored = pattern.starts_with('/');
  if (anchored ? (!path.starts_with('/') || want.size() != have.size())
               : want.size() > have.size()) {
    return false;
  }
  size_t offset = have.size() - want.size();
  for (size_t i = 0; i < want.size(); ++i) {
    std::string glob(want[i]);
    std::string name(have[offset + i]);
    if (fnmatch(glob.c_str(), name.c_str(), FNM_NOESCAPE) != 0) return false;
  }
  return true;
}

PathFilter::PathFilter(const std::vector<std::string>& includes,
                       const std::vector<std::string>& excludes) {
  for (const std::string& pattern : kDefaultIncludes) {
    if (!contains(excludes, pattern)) addOnce(includes_, pattern);
  }
  // As uvicorn: a pattern the user both includes and excludes is excluded.
  for (const std::string& pattern : includes) {
    if (!contains(excludes, pattern)) addOnce(includes_, pattern);
  }
  for (const std::string& pattern : kDefaultExcludes) {
    if (!contains(includes_, pattern)) addOnce(excludes_, pattern);
  }
  for (const std::string& pattern : excludes) addOnce(excludes_, pattern);
}

bool PathFilter::watches(std::string_view path) const {
  auto matches = [path](const std::string& pattern) { return globMatch(pattern, path); };
  return std::any_of(includes_.begin(), includes_.end(), matches) &&
         std::none_of(excludes_.begin(), excludes_.end(), matches);
}

bool PathFilter::excludesDirectory(std::string_view name) const {
  return std::any_of(excludes_.begin(), excludes_.end(), [name](const std::string& pattern) {
    return pattern.find('/') == std::string::npos && globMatch(pattern, name);
  });
}

}  // namespace asgid::master
