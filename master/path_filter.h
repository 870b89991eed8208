// Which files --reload watches: uvicorn's include and exclude glob patterns, with uvicorn's
// defaults and its rules for merging them.
//
// Principle: a pattern matches the end of a path, component by component, as Python's
// PurePath.match does ("*.py" matches "a/b/c.py", "pkg/*.py" matches "x/pkg/m.py"); an
// absolute pattern must match the whole path. Components are matched with fnmatch(3) without
// escapes, like Python's fnmatch. Pure: no file system access.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace asgid::master {

// PurePath(path).match(pattern).
bool globMatch(std::string_view pattern, std::string_view path);

class PathFilter {
 public:
  // The user's --reload-include and --reload-exclude patterns, merged with uvicorn's defaults:
  // *.py is included unless excluded, a default exclude that is included is dropped, and a
  // pattern the user both includes and excludes is excluded.
  PathFilter(const std::vector<std::string>& includes, const std::vector<std::string>& excludes);

  // A file is watched when an include pattern matches it and no exclude pattern does.
  bool watches(std::string_view path) const;

  // A directory is pruned when a single-component exclude pattern matches its name (".*"
  // prunes .git, .venv, .mypy_cache...).
  bool excludesDirectory(std::string_view name) const;

  const std::vector<std::string>& includes() const { return includes_; }
  const std::vector<std::string>& excludes() const { return excludes_; }

 private:
  std::vector<std::string> includes_;
  std::vector<std::string> excludes_;
};

}  // namespace asgid::master
