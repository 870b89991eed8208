#include "master/master.h"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iostream>
#include <random>

#include "common/control_channel.h"
#include "common/log.h"
#include "common/process_title.h"
#include "common/systemd_notify.h"
#include "worker/worker.h"

namespace asgid::master {
namespace {

constexpr int kWatchedSignals[] = {SIGHUP,  SIGTERM, SIGINT,  SIGQUIT,
                                   SIGTTIN, SIGTTOU, SIGUSR1, SIGUSR2};
// A worker ready this long resets its index's boot-failure count (backoff).
constexpr double kStableSeconds = 10.0;
constexpr double kMaxBackoff = 30.0;

std::string describeStatus(int status) {
  if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const char* name = sigabbrev_np(WTERMSIG(status));
    return std::string("killed by signal ") +
           (name ? std::string("SIG") + name : std::to_string(WTERMSIG(status)));
  }
  return "stopped";
}

std::string executablePath(const std::string& argv0) {
  char resolved[PATH_MAX];
  ssize_t length = readlink("/proc/self/exe", resolved, sizeof resolved - 1);
  if (length > 0) {
    resolved[length] = '\0';
    std::string path = resolved;
    const std::string deleted = " (deleted)";
    // The binary was replaced on disk (a package upgrade): exec the new one at the same path.
    if (path.size() > deleted.size() &&
        path.compare(path.size() - deleted.size(), deleted.size(), deleted) == 0) {
      path.resize(path.size() - deleted.size());
    }
    return path;
  }
  return argv0;
}

// Resident set size of `pid` in MiB, from /proc (0 if it cannot be read).
long rssMiB(pid_t pid) {
  std::ifstream statm("/proc/" + std::to_string(pid) + "/statm");
  long pages = 0;
  long resident = 0;
  if (!(statm >> pages >> resident)) return 0;
  return resident * sysconf(_SC_PAGESIZE) / (1024 * 1024);
}

bool sameVariables(const std::vector<config::EnvVariable>& a,
                   const std::vector<config::EnvVariable>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].name != b[i].name || a[i].value != b[i].value) return false;
  }
  return true;
}

// The settings a Reloader is built from: a reload that changes none of them keeps it (and its
// watches) as it is.
bool sameWatchSettings(const config::Settings& a, const config::Settings& b) {
  return a.reload == b.reload && a.reload_dirs == b.reload_dirs &&
         a.reload_includes == b.reload_includes && a.reload_excludes == b.reload_excludes &&
         a.reload_delay == b.reload_delay && a.reload_poll == b.reload_poll &&
         a.app_dir == b.app_dir && a.config_file == b.config_file && a.env_file == b.env_file &&
         a.error_logfile == b.error_logfile && a.access_logfile == b.access_logfile &&
         a.pid_file == b.pid_file;
}

// --env-file's variables, put into this process's environment (overwriting: a reload may
// have changed a value this process set before).
void exportVariables(const std::vector<config::EnvVariable>& variables) {
  for (const auto& variable : variables) {
    setenv(variable.name.c_str(), variable.value.c_str(), 1);
  }
}

void logEnvFile(const config::Settings& settings) {
  if (settings.env_file.empty()) return;
  log::main().info("Loading environment from '{}': {} variable(s) for the app", settings.env_file,
                   settings.app_environment.size());
}

void resetSignalsForChild() {
  for (int signum = 1; signum < NSIG; ++signum) signal(signum, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
}

// fork() with every signal blocked until the child has reset its handlers: a signal the
// master sends right after the fork (a TERM to a worker still booting) would otherwise reach
// the master's inherited libev handler in the child and be lost. The parent's mask is restored
// at once; the child's is cleared by resetSignalsForChild(), after which a pending TERM takes
// its default action.
pid_t forkWithSignalsBlocked() {
  sigset_t all;
  sigset_t saved;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, &saved);
  pid_t pid = fork();
  if (pid != 0) sigprocmask(SIG_SETMASK, &saved, nullptr);
  return pid;
}

}  // namespace

Master::Master(std::vector<std::string> argv, config::Settings settings,
               std::vector<BoundListener> listeners)
    : argv_(std::move(argv)),
      executable_(executablePath(argv_.empty() ? "asgid" : argv_[0])),
      settings_(std::move(settings)),
      listeners_(std::move(listeners)),
      loop_(ev_default_loop(EVFLAG_AUTO)) {
  for (const auto& listener : listeners_) urls_.push_back(listener.url);
  if (const char* parent = getenv("ASGID_UPGRADE_PARENT")) {
    upgrade_parent_ = static_cast<pid_t>(atol(parent));
    unsetenv("ASGID_UPGRADE_PARENT");
  }
  ev_timer_init(&restart_reloader_, onRestartReloader, 0.0, 0.0);
  restart_reloader_.data = this;
}

Master::~Master() {
  for (auto& watcher : signals_) ev_signal_stop(loop_, &watcher);
  ev_child_stop(loop_, &child_watcher_);
  ev_timer_stop(loop_, &tick_);
  ev_timer_stop(loop_, &watchdog_);
  ev_timer_stop(loop_, &restart_reloader_);
  for (auto& respawn : respawns_) ev_timer_stop(loop_, &respawn->timer);
}

int Master::run() {
  process_title::set("asgid: master");
  signals_.resize(std::size(kWatchedSignals));
  for (size_t i = 0; i < signals_.size(); ++i) {
    ev_signal_init(&signals_[i], onSignal, kWatchedSignals[i]);
    signals_[i].data = this;
    ev_signal_start(loop_, &signals_[i]);
  }
  ev_child_init(&child_watcher_, onChild, 0, 0);
  child_watcher_.data = this;
  ev_child_start(loop_, &child_watcher_);
  ev_timer_init(&tick_, onTick, 1.0, 1.0);
  tick_.data = this;
  ev_timer_start(loop_, &tick_);
  double watchdog = systemd::watchdogInterval();
  ev_timer_init(&watchdog_, onWatchdog, 0.0, watchdog / 2);
  watchdog_.data = this;
  if (watchdog > 0) ev_timer_start(loop_, &watchdog_);

  if (!settings_.pid_file.empty() && upgrade_parent_ == 0) pid_file_.write(settings_.pid_file);
  log::main().info("Starting asgid {} master (pid {}), {} worker(s)", ASGID_VERSION, getpid(),
                   settings_.workers);
  logEnvFile(settings_);
  if (settings_.preload) {
    // The app is imported here, so its environment must be this process's. The names are
    // remembered: a reload must not take them for the real environment (which the env file
    // never overrides), and a binary upgrade must not inherit them.
    exportVariables(settings_.app_environment);
    for (const auto& variable : settings_.app_environment) exported_.insert(variable.name);
    if (!worker::preloadApp(settings_)) return worker::kExitAppError;
  }
  if (settings_.reload) startReloader();
  failures_.assign(static_cast<size_t>(settings_.workers) + 1, 0);
  for (int index = 1; index <= settings_.workers; ++index) spawn(index, 0);
  ev_run(loop_, 0);
  pid_file_.remove();
  log::main().info("Master (pid {}) exiting with code {}", getpid(), exit_code_);
  return exit_code_;
}

// ---- Workers --------------------------------------------------------------------------------

void Master::spawn(int index, uint64_t replaces) {
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0) {
    log::main().error("cannot create a control channel: {}", strerror(errno));
    return;
  }
  const bool python = worker::preloaded();
  if (python) worker::beforeFork();
  pid_t pid = forkWithSignalsBlocked();
  if (pid == 0 && python) worker::afterForkInChild();
  if (pid != 0 && python) worker::afterForkInParent();
  if (pid < 0) {
    log::main().error("cannot fork a worker: {}", strerror(errno));
    close(pair[0]);
    close(pair[1]);
    return;
  }
  if (pid == 0) {
    close(pair[0]);
    runChild(index, pair[1]);
  }
  close(pair[1]);
  auto slot = std::make_unique<Slot>();
  slot->master = this;
  slot->id = next_id_++;
  slot->index = index;
  slot->generation = generation_;
  slot->pid = pid;
  slot->control = UniqueFd(pair[0]);
  slot->spawned_at = ev_now(loop_);
  slot->replaces = replaces;
  ev_io_init(&slot->watcher, onControlIo, pair[0], EV_READ);
  slot->watcher.data = slot.get();
  ev_io_start(loop_, &slot->watcher);
  log::main().info("Booting worker {} (pid {})", index, pid);
  slots_.push_back(std::move(slot));
}

void Master::runChild(int index, int control_fd) {
  pid_t master = getppid();
  resetSignalsForChild();
  // A worker must not outlive its master (SIGKILLed master, crashed supervisor).
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (getppid() != master) _exit(worker::kExitAppError);
  // The master's loop is not ours: stop its watchers (libev ties each signal to one loop, so
  // the worker's own loop could not watch SIGTERM otherwise), then free it.
  for (auto& watcher : signals_) ev_signal_stop(loop_, &watcher);
  ev_child_stop(loop_, &child_watcher_);
  for (auto& slot : slots_) {
    ev_io_stop(loop_, &slot->watcher);
    slot->control.reset();
  }
  reloader_.reset();  // its inotify descriptor and timers are the master's
  ev_timer_stop(loop_, &restart_reloader_);
  ev_loop_destroy(loop_);
  unsetenv("NOTIFY_SOCKET");  // only the master speaks to systemd
  // The master keeps its own environment as it was given, so the env file (re-read on each
  // reload) only ever adds to the real environment; each worker takes the variables of the
  // settings it was forked with, before Python starts and reads os.environ.
  exportVariables(settings_.app_environment);
  process_title::set("asgid: worker " + std::to_string(index));
  log::reopen();  // the same files, opened by this process

  worker::WorkerLink link;
  link.control_fd = control_fd;
  link.index = index;
  link.announce = false;
  if (settings_.limit_max_requests > 0) {
    std::mt19937 random(static_cast<unsigned>(getpid()));
    int jitter = settings_.limit_max_requests_jitter;
    link.max_requests =
        settings_.limit_max_requests + (jitter > 0 ? static_cast<int>(random() % (jitter + 1)) : 0);
  }
  std::vector<http::ListenerInfo> listeners;
  for (const auto& listener : listeners_) listeners.push_back(listener.info);
  int code = worker::run(settings_, listeners, urls_, link);
  spdlog::shutdown();
  _exit(code);
}

Master::Slot* Master::find(uint64_t id) {
  for (auto& slot : slots_) {
    if (slot->id == id) return slot.get();
  }
  return nullptr;
}

Master::Slot* Master::findPid(pid_t pid) {
  for (auto& slot : slots_) {
    if (slot->pid == pid) return slot.get();
  }
  return nullptr;
}

int Master::liveWorkers() const {
  int count = 0;
  for (const auto& slot : slots_) {
    if (slot->state == SlotState::kBooting || slot->state == SlotState::kReady) ++count;
  }
  return count;
}

int Master::freeIndex() const {
  for (int index = 1;; ++index) {
    bool used = false;
    for (const auto& slot : slots_) {
      if (slot->index == index && slot->state != SlotState::kDraining) used = true;
    }
    if (!used) return index;
  }
}

void Master::onControlIo(struct ev_loop*, ev_io* watcher, int) {
  auto* slot = static_cast<Slot*>(watcher->data);
  slot->master->onControl(*slot);
}

void Master::onControl(Slot& slot) {
  char messages[64];
  ssize_t got = recv(slot.control.get(), messages, sizeof messages, MSG_DONTWAIT);
  if (got <= 0) {
    if (got == 0 || (errno != EAGAIN && errno != EINTR)) ev_io_stop(loop_, &slot.watcher);
    return;
  }
  for (ssize_t i = 0; i < got; ++i) {
    switch (messages[i]) {
      case control::kHeartbeat:
        slot.last_heartbeat = ev_now(loop_);
        break;
      case control::kReady:
        onReady(slot);
        break;
      case control::kRetire:
        if (slot.state == SlotState::kReady) replace(slot, "reached --limit-max-requests");
        break;
      default:
        break;
    }
  }
}

void Master::onReady(Slot& slot) {
  if (slot.state != SlotState::kBooting) return;
  slot.state = SlotState::kReady;
  slot.ready_at = slot.last_heartbeat = ev_now(loop_);
  log::main().info("Worker {} (pid {}) ready", slot.index, slot.pid);
  if (slot.replaces != 0) {
    Slot* old = find(slot.replaces);
    slot.replaces = 0;
    if (old != nullptr) drain(*old);
  }
  if (phase_ == Phase::kStarting && liveWorkers() >= settings_.workers) {
    bool all_ready = std::all_of(slots_.begin(), slots_.end(),
                                 [](const auto& s) { return s->state != SlotState::kBooting; });
    if (all_ready) announceReady();
  }
  if (reloading_) advanceRoll();
}

void Master::announceReady() {
  phase_ = Phase::kRunning;
  for (const auto& url : urls_) log::main().info("Listening on {}", url);
  std::string status = "READY=1\nSTATUS=" + std::to_string(liveWorkers()) + " worker(s) serving";
  if (upgrade_parent_ != 0) {
    // A binary upgrade: this master takes over, then tells the old one to drain and exit.
    if (!settings_.pid_file.empty()) pid_file_.write(settings_.pid_file);
    status += "\nMAINPID=" + std::to_string(getpid());
    log::main().info("Upgrade: new master ready; stopping the old master (pid {})",
                     upgrade_parent_);
    kill(upgrade_parent_, SIGTERM);
    upgrade_parent_ = 0;
  }
  systemd::notify(status);
  if (change_pending_) {  // files changed while the first workers were booting
    change_pending_ = false;
    reload(RollCause::kFileChange);
  }
}

void Master::drain(Slot& slot) {
  if (slot.state == SlotState::kDraining) return;
  log::main().info("Draining worker {} (pid {})", slot.index, slot.pid);
  control::send(slot.control.get(), control::kReplacing);
  killSlot(slot, SIGTERM, settings_.timeout_graceful_shutdown + 5.0);
  slot.state = SlotState::kDraining;
}

void Master::killSlot(Slot& slot, int signum, double grace) {
  kill(slot.pid, signum);
  slot.kill_at = ev_now(loop_) + grace;
}

void Master::replace(Slot& old, const char* why) {
  if (old.being_replaced || phase_ == Phase::kStopping) return;
  log::main().info("Replacing worker {} (pid {}): {}", old.index, old.pid, why);
  old.being_replaced = true;
  spawn(old.index, old.id);
}

// ---- Exits, failures and backoff ------------------------------------------------------------

void Master::onChild(struct ev_loop*, ev_child* watcher, int) {
  static_cast<Master*>(watcher->data)->onExit(watcher->rpid, watcher->rstatus);
}

void Master::onExit(pid_t pid, int status) {
  if (pid == upgrade_child_) {
    log::main().error("Upgrade failed: the new master (pid {}) {}", pid, describeStatus(status));
    upgrade_child_ = 0;
    return;
  }
  auto it =
      std::find_if(slots_.begin(), slots_.end(), [pid](const auto& s) { return s->pid == pid; });
  if (it == slots_.end()) return;
  std::unique_ptr<Slot> slot = std::move(*it);
  slots_.erase(it);
  ev_io_stop(loop_, &slot->watcher);
  std::string how = describeStatus(status);
  bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  switch (slot->state) {
    case SlotState::kDraining:
      log::main().info("Worker {} (pid {}) {}", slot->index, pid, how);
      break;
    case SlotState::kBooting:
      log::main().error("Worker {} (pid {}) {} before it was ready", slot->index, pid, how);
      onBootFailure(*slot, how, status);
      break;
    case SlotState::kKilled:
    case SlotState::kReady:
      if (clean && phase_ == Phase::kStopping) {
        log::main().info("Worker {} (pid {}) {}", slot->index, pid, how);
      } else {
        log::main().warn("Worker {} (pid {}) {}", slot->index, pid, how);
        if (Slot* replacement = nullptr; slot->being_replaced) {
          (void)replacement;  // its replacement is already booting
        } else if (phase_ != Phase::kStopping) {
          scheduleRespawn(slot->index);
        }
      }
      break;
  }
  // A replacement that was waiting for this slot to drain no longer has to.
  for (auto& other : slots_) {
    if (other->replaces == slot->id) other->replaces = 0;
  }
  if (reloading_) advanceRoll();
  if (phase_ == Phase::kStopping && slots_.empty()) ev_break(loop_, EVBREAK_ALL);
}

void Master::onBootFailure(const Slot& slot, const std::string& how, int status) {
  if (phase_ == Phase::kStarting && reloader_) {
    // In development the next save is the fix: wait for it rather than exit or loop.
    if (!start_failed_) {
      log::main().error("Worker failed to boot ({}); waiting for a file change to retry", how);
    }
    start_failed_ = true;
    if (change_pending_) {  // a change came while it booted: it may be the fix
      change_pending_ = false;
      retryStart();
    }
    return;
  }
  if (phase_ == Phase::kStarting) {
    // The app cannot start (its error is in the log above): exit instead of looping.
    log::main().error("Worker failed to boot ({}); shutting down", how);
    // A setting only a worker could check (--log-config) is a configuration error, as in main.
    const bool config = WIFEXITED(status) && WEXITSTATUS(status) == worker::kExitConfigError;
    exit_code_ = config ? worker::kExitConfigError : worker::kExitAppError;
    stop(false);
    return;
  }
  if (slot.replaces != 0) {
    if (Slot* old = find(slot.replaces)) old->being_replaced = false;
    if (reloading_) {
      abortRoll("a new worker failed to boot (" + how + ")");
      return;
    }
  }
  if (phase_ == Phase::kRunning && slot.replaces == 0) scheduleRespawn(slot.index);
}

void Master::scheduleRespawn(int index) {
  if (static_cast<size_t>(index) >= failures_.size()) failures_.resize(index + 1, 0);
  int failures = ++failures_[index];
  double delay = failures <= 1 ? 0.0 : std::min(kMaxBackoff, 0.5 * std::pow(2.0, failures - 2));
  if (delay > 0) log::main().warn("Respawning worker {} in {:.1f}s", index, delay);
  auto respawn = std::make_unique<Respawn>();
  respawn->master = this;
  respawn->index = index;
  ev_timer_init(&respawn->timer, onRespawn, delay, 0.0);
  respawn->timer.data = respawn.get();
  ev_timer_start(loop_, &respawn->timer);
  respawns_.push_back(std::move(respawn));
}

void Master::onRespawn(struct ev_loop*, ev_timer* watcher, int) {
  auto* respawn = static_cast<Respawn*>(watcher->data);
  Master* master = respawn->master;
  int index = respawn->index;
  auto& list = master->respawns_;
  list.erase(std::remove_if(list.begin(), list.end(),
                            [respawn](const auto& r) { return r.get() == respawn; }),
             list.end());
  if (master->phase_ == Phase::kStopping) return;
  if (master->liveWorkers() >= master->settings_.workers) return;
  master->spawn(index, 0);
}

// ---- Reload (HUP) ---------------------------------------------------------------------------

void Master::reload(RollCause cause) {
  if (phase_ != Phase::kRunning) {
    log::main().warn("SIGHUP ignored: the master is not running yet (or is stopping)");
    return;
  }
  systemd::notify("RELOADING=1\nSTATUS=reloading");
  if (!rereadConfig()) {
    systemd::notify("READY=1\nSTATUS=reload failed: bad configuration");
    return;
  }
  log::main().info("Reloading: rolling restart of {} worker(s)", liveWorkers());
  ++generation_;
  roll_.clear();
  for (const auto& slot : slots_) {
    if (slot->state == SlotState::kReady || slot->state == SlotState::kBooting) {
      roll_.push_back(slot->id);
    }
  }
  roll_cause_ = cause;
  reloading_ = true;
  advanceRoll();
}

// Re-reads the command line and the config file, as a reload does; false (logged) when they
// are not valid any more.
bool Master::rereadConfig() {
  std::vector<const char*> args;
  for (const auto& arg : argv_) args.push_back(arg.c_str());
  config::EnvLookup real_environment = [this](const std::string& name) {
    return exported_.contains(name) ? std::nullopt : config::processEnvironment()(name);
  };
  try {
    config::LoadResult loaded =
        config::load(static_cast<int>(args.size()), args.data(), real_environment, std::cout);
    const config::Settings& next = loaded.settings;
    logEnvFile(next);
    if (settings_.preload && !sameVariables(next.app_environment, settings_.app_environment)) {
      log::main().warn(
          "Reload: --env-file changed, but with --preload the master imported the app; "
          "restart to apply it");
    }
    if (next.bind != settings_.bind || next.host != settings_.host || next.port != settings_.port ||
        next.uds != settings_.uds || next.fds != settings_.fds) {
      // The listeners belong to the master and outlive reloads; new addresses need a restart
      // or a binary upgrade (USR2 keeps the inherited ones too).
      log::main().warn(
          "Reload: listener settings changed; keeping the current listeners (restart to rebind)");
    }
    if (!sameWatchSettings(next, settings_)) ev_timer_start(loop_, &restart_reloader_);
    settings_ = std::move(loaded.settings);
  } catch (const config::ConfigError& error) {
    // One log line: the errors (every bad key, variable and line) joined.
    std::string errors;
    for (const std::string& message : error.messages()) {
      errors += (errors.empty() ? "" : "; ") + message;
    }
    log::main().error("Reload failed: {}; the workers keep the current configuration", errors);
    return false;
  }
  return true;
}

// ---- --reload: file changes -----------------------------------------------------------------

void Master::startReloader() {
  reloader_ = std::make_unique<Reloader>(
      loop_, settings_, [this](const std::string& description) { onSourcesChanged(description); });
}

void Master::onRestartReloader(struct ev_loop*, ev_timer* watcher, int) {
  auto* master = static_cast<Master*>(watcher->data);
  master->reloader_.reset();
  if (!master->settings_.reload) return;
  try {
    master->startReloader();
  } catch (const std::exception& error) {
    log::main().error("--reload: {}; not watching any more", error.what());
  }
}

void Master::onSourcesChanged(const std::string& description) {
  log::main().info("Reloading: {} changed", description);
  if (phase_ == Phase::kStopping) return;
  if (phase_ == Phase::kStarting) {
    if (!start_failed_) {
      change_pending_ = true;  // acted on once the first workers are ready
      return;
    }
    retryStart();
    return;
  }
  if (reloading_ && roll_cause_ == RollCause::kFileChange) {
    // The workers booting run code older than this change: replace them at once rather than
    // wait for them (eight FastAPI workers take seconds on two cores).
    log::main().info("Reload superseded by a newer change");
    cancelRoll();
  } else if (reloading_) {
    change_pending_ = true;  // acted on when this SIGHUP's roll ends
    return;
  }
  reload(RollCause::kFileChange);
}

// --reload, after the first workers failed to boot: the next change starts them again.
void Master::retryStart() {
  if (!rereadConfig()) return;
  start_failed_ = false;
  adjustWorkers();
}

// A roll has ended (complete or aborted): changes seen meanwhile start the next one.
void Master::afterRoll() {
  if (!change_pending_ || phase_ != Phase::kRunning) return;
  change_pending_ = false;
  reload(RollCause::kFileChange);
}

bool Master::replacementBooting() const {
  return std::any_of(slots_.begin(), slots_.end(), [](const auto& slot) {
    return slot->state == SlotState::kBooting && slot->replaces != 0;
  });
}

bool Master::newGenerationReady() const {
  return std::any_of(slots_.begin(), slots_.end(), [this](const auto& slot) {
    return slot->generation == generation_ && slot->state == SlotState::kReady;
  });
}

void Master::advanceRoll() {
  // One at a time; after a file change, once the first new worker has shown that the code
  // boots, all the others at once (in development speed matters more than capacity). Only
  // that first worker is likely to fail, so a broken save logs its error once.
  const bool all_at_once = roll_cause_ == RollCause::kFileChange && newGenerationReady();
  while (!roll_.empty() && (all_at_once || !replacementBooting())) {
    Slot* old = find(roll_.front());
    roll_.pop_front();
    if (old == nullptr || old->state != SlotState::kReady) continue;
    old->being_replaced = true;
    spawn(old->index, old->id);
    // The old code is stale: once the first new worker serves, the old ones stop taking
    // requests, so the next one a developer sends runs the new code.
    if (all_at_once) drain(*old);
  }
  if (replacementBooting()) return;
  reloading_ = false;
  adjustWorkers();
  log::main().info("Reload complete: {} worker(s) of generation {}", liveWorkers(), generation_);
  systemd::notify("READY=1\nSTATUS=" + std::to_string(liveWorkers()) + " worker(s) serving");
  afterRoll();
}

void Master::abortRoll(const std::string& why) {
  log::main().error(
      "Reload failed: {}; the old workers keep serving ({})", why,
      roll_cause_ == RollCause::kFileChange ? "the next change retries" : "send SIGHUP to retry");
  cancelRoll();
  // After a file change the old workers may already be draining: keep the count.
  if (roll_cause_ == RollCause::kFileChange) adjustWorkers();
  systemd::notify("READY=1\nSTATUS=reload failed");
  afterRoll();
}

// Stops a roll where it is: the new workers still booting are killed, the old ones they were
// to replace keep serving, and the new ones already ready stay.
void Master::cancelRoll() {
  roll_.clear();
  reloading_ = false;
  for (auto& slot : slots_) {
    if (slot->generation == generation_ && slot->state == SlotState::kBooting) {
      killSlot(*slot, SIGKILL, 0);
      slot->state = SlotState::kDraining;
    }
    slot->being_replaced = false;
  }
}

void Master::adjustWorkers() {
  if (phase_ == Phase::kStopping) return;
  while (liveWorkers() < settings_.workers) spawn(freeIndex(), 0);
  while (liveWorkers() > settings_.workers) {
    Slot* last = nullptr;
    for (auto& slot : slots_) {
      if ((slot->state == SlotState::kReady || slot->state == SlotState::kBooting) &&
          (last == nullptr || slot->index > last->index)) {
        last = slot.get();
      }
    }
    if (last == nullptr) break;
    drain(*last);
  }
}

// ---- Stop, upgrade, signals -----------------------------------------------------------------

void Master::stop(bool graceful) {
  if (phase_ == Phase::kStopping && graceful) return;
  phase_ = Phase::kStopping;
  // A roll under way ends here: its completion would start workers again.
  roll_.clear();
  reloading_ = false;
  change_pending_ = false;
  systemd::notify("STOPPING=1");
  log::main().info("Stopping {} worker(s) ({})", slots_.size(), graceful ? "graceful" : "fast");
  for (auto& slot : slots_) {
    killSlot(*slot, graceful ? SIGTERM : SIGQUIT,
             graceful ? settings_.timeout_graceful_shutdown + 5.0 : 5.0);
    slot->state = SlotState::kDraining;
  }
  for (auto& respawn : respawns_) ev_timer_stop(loop_, &respawn->timer);
  respawns_.clear();
  if (slots_.empty()) ev_break(loop_, EVBREAK_ALL);
}

void Master::upgrade() {
  if (upgrade_child_ != 0) {
    log::main().warn("SIGUSR2 ignored: an upgrade (pid {}) is already under way", upgrade_child_);
    return;
  }
  std::string fds;
  for (const auto& listener : listeners_) {
    if (!fds.empty()) fds += ",";
    fds += std::to_string(listener.fd.get());
    if (listener.info.proxy_protocol) fds += "p";  // see inheritedFds() in listener.cc
  }
  pid_t pid = forkWithSignalsBlocked();
  if (pid < 0) {
    log::main().error("Upgrade failed: cannot fork: {}", strerror(errno));
    return;
  }
  if (pid == 0) {
    resetSignalsForChild();
    for (const auto& listener : listeners_) fcntl(listener.fd.get(), F_SETFD, 0);
    setenv(kInheritFdsEnv, fds.c_str(), 1);
    setenv("ASGID_UPGRADE_PARENT", std::to_string(getppid()).c_str(), 1);
    // The new master reads the env file itself, over the environment it was given.
    for (const auto& name : exported_) unsetenv(name.c_str());
    std::vector<char*> args;
    for (auto& arg : argv_) args.push_back(arg.data());
    args.push_back(nullptr);
    execv(executable_.c_str(), args.data());
    fprintf(stderr, "asgid: cannot exec %s: %s\n", executable_.c_str(), strerror(errno));
    _exit(127);
  }
  upgrade_child_ = pid;
  log::main().info("Upgrade: started a new master (pid {}) from {}", pid, executable_);
}

void Master::onSignal(struct ev_loop*, ev_signal* watcher, int) {
  static_cast<Master*>(watcher->data)->handleSignal(watcher->signum);
}

void Master::handleSignal(int signum) {
  switch (signum) {
    case SIGHUP:
      reload(RollCause::kSignal);
      break;
    case SIGINT:
      if (++interrupts_ > 1) {
        log::main().warn("Second SIGINT: exiting at once");
        for (auto& slot : slots_) kill(slot->pid, SIGKILL);
        pid_file_.remove();
        spdlog::shutdown();
        _exit(worker::kExitAppError);
      }
      // Ctrl+C at a terminal: whoever pressed it should know how long the wait can last and
      // how to cut it short (the workers log what is in flight).
      if (phase_ != Phase::kStopping && !slots_.empty()) {
        log::main().info(
            "SIGINT: stopping gracefully, waiting up to {}s (--timeout-graceful-shutdown) for "
            "the requests in flight; press Ctrl+C again to stop at once",
            settings_.timeout_graceful_shutdown);
      }
      stop(true);
      break;
    case SIGTERM:
      stop(true);
      break;
    case SIGQUIT:
      stop(false);
      break;
    case SIGTTIN:
      ++settings_.workers;
      log::main().info("SIGTTIN: {} worker(s)", settings_.workers);
      if (phase_ == Phase::kRunning && !reloading_) adjustWorkers();
      break;
    case SIGTTOU:
      settings_.workers = std::max(1, settings_.workers - 1);
      log::main().info("SIGTTOU: {} worker(s)", settings_.workers);
      if (phase_ == Phase::kRunning && !reloading_) adjustWorkers();
      break;
    case SIGUSR1:
      // Every process reopens its own files by name, as the dropped user (the master has no
      // privileges left to open them for the workers); see docs/architecture.md, "Log files".
      if (log::reopen() == 0) {
        log::main().info("SIGUSR1: reopened the log files; telling the workers");
      } else {
        log::main().warn("SIGUSR1: log files not all reopened (see above); telling the workers");
      }
      for (auto& slot : slots_) kill(slot->pid, SIGUSR1);
      break;
    case SIGUSR2:
      upgrade();
      break;
    default:
      break;
  }
}

// ---- Liveness, recycling, watchdog ----------------------------------------------------------

void Master::onTick(struct ev_loop*, ev_timer* watcher, int) {
  static_cast<Master*>(watcher->data)->tick();
}

void Master::tick() {
  const double now = ev_now(loop_);
  for (auto& owned : slots_) {
    Slot& slot = *owned;
    switch (slot.state) {
      case SlotState::kBooting:
        if (now - slot.spawned_at > settings_.timeout_worker_boot) {
          log::main().error("Worker {} (pid {}) not ready after {}s: killing it", slot.index,
                            slot.pid, settings_.timeout_worker_boot);
          killSlot(slot, SIGKILL, 0);
        }
        break;
      case SlotState::kReady:
        if (now - slot.last_heartbeat > settings_.timeout_worker_healthcheck) {
          // The heartbeat comes from the worker's event loop: silence means the loop is stuck
          // (CPU-bound Python, a blocking call). faulthandler prints its stacks on SIGABRT.
          log::main().error(
              "Worker {} (pid {}) unresponsive for {:.1f}s: dumping its Python stacks, then "
              "replacing it",
              slot.index, slot.pid, now - slot.last_heartbeat);
          killSlot(slot, SIGABRT, 3.0);
          slot.state = SlotState::kKilled;
          break;
        }
        if (now - slot.ready_at > kStableSeconds &&
            static_cast<size_t>(slot.index) < failures_.size()) {
          failures_[slot.index] = 0;
        }
        if (settings_.max_worker_lifetime > 0 &&
            now - slot.spawned_at > settings_.max_worker_lifetime) {
          replace(slot, "reached --max-worker-lifetime");
        } else if (settings_.max_worker_memory > 0 &&
                   rssMiB(slot.pid) > settings_.max_worker_memory) {
          replace(slot, "over --max-worker-memory");
        }
        break;
      case SlotState::kDraining:
      case SlotState::kKilled:
        if (slot.kill_at > 0 && now > slot.kill_at) {
          log::main().warn("Worker {} (pid {}) still running: SIGKILL", slot.index, slot.pid);
          kill(slot.pid, SIGKILL);
          slot.kill_at = 0;
        }
        break;
    }
  }
}

void Master::onWatchdog(struct ev_loop*, ev_timer*, int) {
  systemd::notify("WATCHDOG=1");
}

}  // namespace asgid::master
