// What --reload watches: the directory trees, the files watched wherever they are (the
// --config file), the files never counted as changes (logs, pid file), and the rules that
// prune directories before any watch is added.
//
// Principle: pruning happens on the way down, so a .venv of 30,000 files costs one readdir of
// its parent and one stat, never a watch or a poll. Symbolic links are not followed (a link
// back up the tree would loop, and a link into site-packages would watch it).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "config/settings.h"
#include "master/path_filter.h"

namespace asgid::master {

struct WatchTree {
  std::vector<std::string> roots;          // absolute directories, watched recursively
  std::vector<std::string> files;          // absolute files watched wherever they are
  std::vector<std::string> ignored_files;  // absolute; never a change (log and pid files)
  std::vector<std::string> pruned_dirs;    // absolute; never descended into
  PathFilter filter{{}, {}};

  // Whether the directory `path` (whose last component is `name`), below a root, is skipped:
  // .git, node_modules, __pycache__, a virtualenv (it holds pyvenv.cfg), a name an exclude
  // pattern matches, or one of pruned_dirs. Reads the file system (pyvenv.cfg).
  bool prunes(const std::string& path, std::string_view name) const;

  // Whether a change to the file at absolute `path` counts.
  bool watches(const std::string& path) const;

  // Whether absolute `path` is a root or below one.
  bool inTree(const std::string& path) const;
};

// Builds the tree from the settings, in the master's working directory (after --chdir):
// roots are --reload-dir (default --app-dir), made absolute; an exclude naming an existing
// directory prunes it (as uvicorn); the log and pid files are ignored, and their directories
// pruned when inside the tree, below a root, and holding no watched file (so pruning never
// hides code). Missing roots are dropped with a warning. Throws std::runtime_error when no
// root is left.
WatchTree buildWatchTree(const config::Settings& settings);

// Lists one directory: every entry that is not a directory goes to `files`, every
// subdirectory not pruned to `subdirs` (full paths). Nothing when it cannot be read.
void listDirectory(const WatchTree& tree, const std::string& dir, std::vector<std::string>& files,
                   std::vector<std::string>& subdirs);

// Walks `root` depth-first (root included), calling on_dir for every directory not pruned
// and on_file for every other entry; on_dir returning false stops the walk (out of watches).
// Returns false when stopped.
bool walkTree(const WatchTree& tree, const std::string& root,
              const std::function<bool(const std::string&)>& on_dir,
              const std::function<void(const std::string&)>& on_file);

// `path` relative to the working directory when below it, else as given (for log lines).
std::string displayPath(const std::string& path);

}  // namespace asgid::master
