#include "master/watch_tree.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <stdexcept>

#include "common/log.h"

namespace asgid::master {
namespace {

namespace fs = std::filesystem;

// Never worth a watch, whatever the patterns say: version control, JavaScript dependencies,
// bytecode caches. Virtualenvs are recognised by their pyvenv.cfg, whatever their name.
constexpr std::string_view kPrunedNames[] = {".git", "node_modules", "__pycache__"};

bool isBelow(const std::string& path, const std::string& dir) {
  if (dir == "/") return path.size() > 1 && path.starts_with('/');
  return path.size() > dir.size() && path.starts_with(dir) && path[dir.size()] == '/';
}

bool contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

// The absolute, symlink-free form of `path` (its parent resolved when it does not exist yet,
// as a log file may not).
std::string absolute(const std::string& path) {
  std::error_code error;
  fs::path resolved = fs::weakly_canonical(fs::absolute(path), error);
  return error ? fs::absolute(path).lexically_normal().string() : resolved.string();
}

bool isDirectory(const std::string& path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode);
}

bool holdsWatchedFile(const WatchTree& tree, const std::string& dir) {
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(dir, error)) {
    if (!entry.is_directory(error) && tree.watches(entry.path().string())) return true;
  }
  return false;
}

void addRoots(const config::Settings& settings, WatchTree& tree) {
  std::vector<std::string> dirs = settings.reload_dirs;
  if (dirs.empty()) dirs.push_back(settings.app_dir.empty() ? "." : settings.app_dir);
  for (const std::string& dir : dirs) {
    std::string path = absolute(dir);
    if (!isDirectory(path)) {
      log::main().warn("--reload-dir {}: not a directory; not watched", dir);
    } else if (!contains(tree.roots, path)) {
      tree.roots.push_back(path);
    }
  }
  if (tree.roots.empty()) throw std::runtime_error("--reload: no directory to watch");
}

// Log and pid files change all the time: never a reason to reload, and their directory is
// better not watched at all (every rotation would wake the master).
void ignoreOutputFiles(const config::Settings& settings, WatchTree& tree) {
  for (const std::string* file :
       {&settings.error_logfile, &settings.access_logfile, &settings.pid_file}) {
    if (file->empty() || *file == "-") continue;
    std::string path = absolute(*file);
    tree.ignored_files.push_back(path);
    std::string dir = fs::path(path).parent_path().string();
    bool below_root = std::any_of(tree.roots.begin(), tree.roots.end(),
                                  [&](const std::string& root) { return isBelow(dir, root); });
    if (below_root && !holdsWatchedFile(tree, dir) && !contains(tree.pruned_dirs, dir)) {
      log::main().info("--reload: not watching {}: it holds {}", displayPath(dir),
                       displayPath(path));
      tree.pruned_dirs.push_back(dir);
    }
  }
}

}  // namespace

bool WatchTree::prunes(const std::string& path, std::string_view name) const {
  if (std::find(std::begin(kPrunedNames), std::end(kPrunedNames), name) != std::end(kPrunedNames))
    return true;
  if (filter.excludesDirectory(name) || contains(pruned_dirs, path)) return true;
  return access((path + "/pyvenv.cfg").c_str(), F_OK) == 0;
}

bool WatchTree::watches(const std::string& path) const {
  if (contains(files, path)) return true;
  if (contains(ignored_files, path)) return false;
  return inTree(path) && filter.watches(path);
}

bool WatchTree::inTree(const std::string& path) const {
  return std::any_of(roots.begin(), roots.end(),
                     [&](const std::string& root) { return path == root || isBelow(path, root); });
}

WatchTree buildWatchTree(const config::Settings& settings) {
  WatchTree tree;
  tree.filter = PathFilter(settings.reload_includes, settings.reload_excludes);
  addRoots(settings, tree);
  for (const std::string& pattern : settings.reload_excludes) {
    if (isDirectory(pattern)) tree.pruned_dirs.push_back(absolute(pattern));
  }
  if (!settings.config_file.empty()) tree.files.push_back(absolute(settings.config_file));
  if (!settings.env_file.empty()) tree.files.push_back(absolute(settings.env_file));
  ignoreOutputFiles(settings, tree);
  return tree;
}

void listDirectory(const WatchTree& tree, const std::string& dir, std::vector<std::string>& files,
                   std::vector<std::string>& subdirs) {
  DIR* handle = opendir(dir.c_str());
  if (handle == nullptr) return;  // removed meanwhile, or unreadable: nothing to watch
  while (const dirent* entry = readdir(handle)) {
    std::string_view name = entry->d_name;
    if (name == "." || name == "..") continue;
    // Appended, not "/" + std::string(name): see quote() in config/value_parsers.cc (GCC 12's
    // -Wrestrict false positive on a literal + a temporary string).
    std::string path = dir;
    if (dir != "/") path += '/';
    path += name;
    bool is_dir = entry->d_type == DT_DIR;
    if (entry->d_type == DT_UNKNOWN) {
      struct stat info;
      is_dir = lstat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode);
    }
    if (!is_dir) {
      files.push_back(std::move(path));
    } else if (!tree.prunes(path, name)) {
      subdirs.push_back(std::move(path));
    }
  }
  closedir(handle);
}

bool walkTree(const WatchTree& tree, const std::string& root,
              const std::function<bool(const std::string&)>& on_dir,
              const std::function<void(const std::string&)>& on_file) {
  if (!on_dir(root)) return false;
  std::vector<std::string> files;
  std::vector<std::string> subdirs;
  listDirectory(tree, root, files, subdirs);
  for (const std::string& file : files) on_file(file);
  for (const std::string& subdir : subdirs) {
    if (!walkTree(tree, subdir, on_dir, on_file)) return false;
  }
  return true;
}

std::string displayPath(const std::string& path) {
  std::error_code error;
  std::string cwd = fs::current_path(error).string();
  if (!error && isBelow(path, cwd)) return path.substr(cwd.size() + 1);
  return path;
}

}  // namespace asgid::master
