// The inotify and polling watchers on a real temp dir, driven by their own libev loop: what
// each kind of save reports, new directories, and pruned directories that get no watch.
#include "master/inotify_watcher.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "master/poll_watcher.h"

namespace asgid::master {
namespace {

namespace fs = std::filesystem;

class WatcherTest : public testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = testing::TempDir() + "asgid-inotify-XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    root_ = fs::canonical(pattern).string();
    loop_ = ev_loop_new(EVFLAG_AUTO);
    write("app/main.py", "v = 1\n");
    write(".venv/pyvenv.cfg", "home = /usr\n");
    write(".venv/lib/site.py", "\n");
    write("app/__pycache__/main.pyc", "\n");
  }
  void TearDown() override {
    watcher_.reset();
    ev_loop_destroy(loop_);
    fs::remove_all(root_);
  }

  void write(const std::string& relative, const std::string& text) {
    fs::path path = fs::path(root_) / relative;
    fs::create_directories(path.parent_path());
    std::ofstream(path) << text;
  }

  void watch(bool poll) {
    config::Settings settings;
    settings.app_dir = root_;
    tree_ = buildWatchTree(settings);
    auto on_change = [this](const std::string& path) {
      changes_.push_back(path.substr(root_.size() + 1));
    };
    if (poll) {
      watcher_ = std::make_unique<PollWatcher>(loop_, tree_, on_change, 0.05);
    } else {
      watcher_ =
          std::make_unique<InotifyWatcher>(loop_, tree_, on_change, [](const std::string&) {});
    }
  }

  // Runs the loop for `seconds`; returns the changes seen, sorted, and forgets them.
  std::vector<std::string> settle(double seconds = 0.15) {
    auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < end) {
      ev_run(loop_, EVRUN_NOWAIT);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    std::vector<std::string> seen = std::move(changes_);
    changes_.clear();
    std::sort(seen.begin(), seen.end());
    return seen;
  }

  using Paths = std::vector<std::string>;
  std::string root_;
  struct ev_loop* loop_ = nullptr;
  WatchTree tree_;
  std::unique_ptr<FileWatcher> watcher_;
  std::vector<std::string> changes_;
};

TEST_F(WatcherTest, InotifyWatchesOnlyDirectoriesNotPruned) {
  watch(false);
  EXPECT_EQ(watcher_->watchCount(), 2u);  // the root and app/; not .venv, not __pycache__
}

TEST_F(WatcherTest, InotifySeesEditsAtomicSavesDeletesAndRenames) {
  watch(false);
  write("app/main.py", "v = 2\n");
  EXPECT_EQ(settle(), (Paths{"app/main.py"}));  // on close, not on each write
  write("app/main.py.tmp", "v = 3\n");
  fs::rename(root_ + "/app/main.py.tmp", root_ + "/app/main.py");
  EXPECT_EQ(settle(), (Paths{"app/main.py"}));
  fs::rename(root_ + "/app/main.py", root_ + "/app/renamed.py");
  EXPECT_EQ(settle(), (Paths{"app/main.py", "app/renamed.py"}));
  fs::remove(root_ + "/app/renamed.py");
  EXPECT_EQ(settle(), (Paths{"app/renamed.py"}));
}

TEST_F(WatcherTest, InotifyIgnoresExcludedAndPrunedFiles) {
  watch(false);
  write("app/notes.txt", "x\n");
  write("app/.main.py.swp", "x\n");
  write(".venv/lib/site.py", "changed\n");
  write("app/__pycache__/main.pyc", "changed\n");
  EXPECT_EQ(settle(), Paths{});
}

TEST_F(WatcherTest, InotifyWatchesDirectoriesCreatedLater) {
  watch(false);
  fs::create_directories(root_ + "/pkg/sub");
  write("pkg/sub/new.py", "x = 1\n");  // possibly before the watch on pkg/sub exists
  Paths seen = settle();
  EXPECT_TRUE(std::find(seen.begin(), seen.end(), "pkg/sub/new.py") != seen.end());
  write("pkg/sub/new.py", "x = 2\n");
  EXPECT_EQ(settle(), (Paths{"pkg/sub/new.py"}));
  // A new virtualenv gets no watch.
  size_t watches = watcher_->watchCount();
  write("venv2/pyvenv.cfg", "home = /usr\n");
  settle();
  EXPECT_EQ(watcher_->watchCount(), watches);
}

TEST_F(WatcherTest, PollingSeesEditsAddsAndDeletesButNotPrunedFiles) {
  watch(true);
  EXPECT_EQ(watcher_->watchCount(), 1u);  // app/main.py
  write("app/main.py", "v = 22\n");
  write("app/new.py", "\n");
  write(".venv/lib/site.py", "changed\n");
  EXPECT_EQ(settle(), (Paths{"app/main.py", "app/new.py"}));
  fs::remove(root_ + "/app/new.py");
  EXPECT_EQ(settle(), (Paths{"app/new.py"}));
  EXPECT_EQ(settle(), Paths{});
}

}  // namespace
}  // namespace asgid::master
