// Pruning rules and the tree built from the settings, on real directories in a temp dir.
#include "master/watch_tree.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

namespace asgid::master {
namespace {

namespace fs = std::filesystem;

class WatchTreeTest : public testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = testing::TempDir() + "asgid-watch-XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    root_ = fs::canonical(pattern).string();
  }
  void TearDown() override { fs::remove_all(root_); }

  void touch(const std::string& relative) {
    fs::path path = fs::path(root_) / relative;
    fs::create_directories(path.parent_path());
    std::ofstream(path) << "x = 1\n";
  }

  config::Settings settingsFor() {
    config::Settings settings;
    settings.reload = true;
    settings.app_dir = root_;
    return settings;
  }

  std::vector<std::string> walkedDirs(const WatchTree& tree) {
    std::vector<std::string> dirs;
    walkTree(
        tree, root_,
        [&](const std::string& dir) {
          dirs.push_back(dir == root_ ? "." : dir.substr(root_.size() + 1));
          return true;
        },
        [](const std::string&) {});
    std::sort(dirs.begin(), dirs.end());
    return dirs;
  }

  std::string root_;
};

TEST_F(WatchTreeTest, PrunesWhatIsNeverWorthWatching) {
  for (const char* file : {"app/main.py", ".git/objects/ab/cd", "node_modules/x/index.js",
                           "app/__pycache__/main.cpython-311.pyc", "venv/lib/site.py",
                           "env2/lib/x.py", ".mypy_cache/x.json", "app/sub/m.py"}) {
    touch(file);
  }
  touch("venv/pyvenv.cfg");
  touch("env2/pyvenv.cfg");  // any name: the pyvenv.cfg is what tells
  WatchTree tree = buildWatchTree(settingsFor());
  EXPECT_EQ(tree.roots, (std::vector<std::string>{root_}));
  EXPECT_EQ(walkedDirs(tree), (std::vector<std::string>{".", "app", "app/sub"}));
}

TEST_F(WatchTreeTest, WatchesIncludedFilesAndTheConfigFileButNotLogs) {
  touch("app/main.py");
  touch("logs/access.log");
  touch("app/server.log");
  touch("asgid.yaml");
  config::Settings settings = settingsFor();
  settings.access_logfile = root_ + "/logs/access.log";
  settings.error_logfile = root_ + "/app/server.log";
  settings.config_file = root_ + "/asgid.yaml";
  WatchTree tree = buildWatchTree(settings);
  EXPECT_TRUE(tree.watches(root_ + "/app/main.py"));
  EXPECT_TRUE(tree.watches(root_ + "/asgid.yaml"));
  EXPECT_FALSE(tree.watches(root_ + "/logs/access.log"));
  EXPECT_FALSE(tree.watches(root_ + "/app/server.log"));
  EXPECT_FALSE(tree.watches("/elsewhere/main.py"));
  // logs/ holds no code: pruned. app/ holds code: kept, only the log file is ignored.
  EXPECT_EQ(walkedDirs(tree), (std::vector<std::string>{".", "app"}));
}

TEST_F(WatchTreeTest, ReloadDirsAndExcludedDirectories) {
  touch("src/a.py");
  touch("src/generated/b.py");
  touch("lib/c.py");
  config::Settings settings = settingsFor();
  settings.reload_dirs = {root_ + "/src", root_ + "/lib", root_ + "/missing"};
  settings.reload_excludes = {root_ + "/src/generated"};
  WatchTree tree = buildWatchTree(settings);
  EXPECT_EQ(tree.roots, (std::vector<std::string>{root_ + "/src", root_ + "/lib"}));
  EXPECT_TRUE(tree.prunes(root_ + "/src/generated", "generated"));
  EXPECT_FALSE(tree.prunes(root_ + "/src", "src"));
}

TEST_F(WatchTreeTest, NoDirectoryToWatchIsAnError) {
  config::Settings settings = settingsFor();
  settings.reload_dirs = {root_ + "/missing"};
  EXPECT_THROW(buildWatchTree(settings), std::runtime_error);
}

}  // namespace
}  // namespace asgid::master
