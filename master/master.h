// Principle: the master binds the listeners, forks the workers and never runs the app. It
// keeps a table of worker slots with explicit states and a control channel to each, and acts
// only from its libev loop: signal watchers record, the loop decides. Every replacement
// overlaps: the new worker is ready before the old one is told to drain, so capacity never
// dips and no connection is refused while any worker is up.
//
//   kBooting  forked; the app is being imported (--timeout-worker-boot)
//   kReady    serving; its loop writes a heartbeat (--timeout-worker-healthcheck)
//   kDraining told to finish its requests and exit (SIGTERM)
//   kKilled   gave up on (unresponsive, stuck booting): replaced when it is gone
#pragma once

#include <ev.h>
#include <sys/types.h>

#include <deque>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/unique_fd.h"
#include "config/settings.h"
#include "master/listener.h"
#include "master/pid_file.h"
#include "master/reloader.h"

namespace asgid::master {

class Master {
 public:
  // `argv` is the original command line (for reloads and binary upgrades).
  Master(std::vector<std::string> argv, config::Settings settings,
         std::vector<BoundListener> listeners);
  ~Master();
  Master(const Master&) = delete;
  Master& operator=(const Master&) = delete;

  // Runs until stopped; returns the process exit code.
  int run();

 private:
  enum class SlotState { kBooting, kReady, kDraining, kKilled };
  enum class Phase { kStarting, kRunning, kStopping };
  // What asked for a rolling restart: SIGHUP replaces one worker at a time; a file change
  // (--reload) replaces one first and, once it is ready, all the others at once.
  enum class RollCause { kSignal, kFileChange };
  struct Slot {
    Master* master = nullptr;
    uint64_t id = 0;
    int index = 0;  // "asgid: worker <index>"
    int generation = 0;
    pid_t pid = 0;
    SlotState state = SlotState::kBooting;
    UniqueFd control;
    ev_io watcher;
    double spawned_at = 0;
    double ready_at = 0;
    double last_heartbeat = 0;
    double kill_at = 0;     // SIGKILL after this (draining or killed)
    uint64_t replaces = 0;  // the slot this one replaces once ready
    bool being_replaced = false;
  };
  struct Respawn {
    ev_timer timer;
    Master* master;
    int index;
  };

  void spawn(int index, uint64_t replaces);
  [[noreturn]] void runChild(int index, int control_fd);
  Slot* find(uint64_t id);
  Slot* findPid(pid_t pid);
  int freeIndex() const;
  int liveWorkers() const;

  void onControl(Slot& slot);
  void onReady(Slot& slot);
  void onExit(pid_t pid, int status);
  void onBootFailure(const Slot& slot, const std::string& how, int status);
  void scheduleRespawn(int index);
  void replace(Slot& old, const char* why);
  void drain(Slot& slot);
  void killSlot(Slot& slot, int signal, double grace);
  void reload(RollCause cause);
  bool rereadConfig();
  void onSourcesChanged(const std::string& description);
  void startReloader();
  void afterRoll();
  void retryStart();
  bool replacementBooting() const;
  bool newGenerationReady() const;
  void advanceRoll();
  void abortRoll(const std::string& why);
  void cancelRoll();
  void adjustWorkers();
  void stop(bool graceful);
  void upgrade();
  void tick();
  void announceReady();

  static void onSignal(struct ev_loop* loop, ev_signal* watcher, int events);
  static void onChild(struct ev_loop* loop, ev_child* watcher, int events);
  static void onControlIo(struct ev_loop* loop, ev_io* watcher, int events);
  static void onTick(struct ev_loop* loop, ev_timer* watcher, int events);
  static void onRespawn(struct ev_loop* loop, ev_timer* watcher, int events);
  static void onWatchdog(struct ev_loop* loop, ev_timer* watcher, int events);
  static void onRestartReloader(struct ev_loop* loop, ev_timer* watcher, int events);
  void handleSignal(int signum);

  std::vector<std::string> argv_;
  std::string executable_;
  config::Settings settings_;
  std::vector<BoundListener> listeners_;
  std::vector<std::string> urls_;
  struct ev_loop* loop_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::vector<std::unique_ptr<Respawn>> respawns_;
  std::vector<int> failures_;  // consecutive boot failures per index (backoff)
  std::deque<uint64_t> roll_;  // old slots still to replace in a rolling restart
  bool reloading_ = false;
  RollCause roll_cause_ = RollCause::kSignal;
  std::unique_ptr<Reloader> reloader_;  // --reload
  bool change_pending_ = false;         // files changed while a roll was under way
  bool start_failed_ = false;           // --reload: the first workers failed; wait for a change
  Phase phase_ = Phase::kStarting;
  int generation_ = 1;
  uint64_t next_id_ = 1;
  int exit_code_ = 0;
  int interrupts_ = 0;
  pid_t upgrade_child_ = 0;
  pid_t upgrade_parent_ = 0;        // set in a master exec'd by USR2
  std::set<std::string> exported_;  // --env-file names put into this process's environment
  PidFile pid_file_;
  std::vector<ev_signal> signals_;
  ev_child child_watcher_;
  ev_timer tick_;
  ev_timer watchdog_;
  ev_timer restart_reloader_;  // rebuilds the Reloader after a reload, outside its callbacks
};

}  // namespace asgid::master
