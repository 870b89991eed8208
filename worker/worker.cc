#include "worker/worker.h"

#include <ev.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <memory>

#include "common/control_channel.h"
#include "common/log.h"
#include "worker/asgi/asgi_bridge.h"
#include "worker/asgi/lifespan.h"
#include "worker/asgi/python_logging.h"
#include "worker/http/http_server.h"
#include "worker/loop/event_loop.h"
#include "worker/python/interpreter.h"
#include "worker/websocket/websocket_server.h"
#include "worker/websocket/ws_engine.h"

namespace asgid::worker {
namespace {

// After the graceful period, how long open WebSockets get for the close handshake before the
// connections are cut (the master waits 5 s past the graceful timeout before SIGKILL).
constexpr double kWebSocketCloseGrace = 2.0;

std::string absolutePath(const std::string& path) {
  char resolved[PATH_MAX];
  if (realpath(path.c_str(), resolved) != nullptr) return resolved;
  return path;
}

// The interpreter and app a master preloaded (--preload); workers inherit both.
py::Interpreter* g_preloaded_interpreter = nullptr;
PyObject* g_preloaded_app = nullptr;

py::InterpreterOptions interpreterOptions(const config::Settings& settings) {
  py::InterpreterOptions options;
  options.venv = settings.venv;
  options.extra_paths.push_back(absolutePath(settings.app_dir));
  options.argv.push_back("asgid");
  options.register_modules.push_back(py::registerLoopModule);
  return options;
}

// An app whose import raised: its traceback, and for a ModuleNotFoundError while no
// virtualenv is in use, a hint at --venv (the package is often in ./.venv, unactivated).
void logAppImportError(const config::Settings& settings, const py::PyError& error) {
  std::string hint;
  if (settings.venv.empty()) {
    std::string app_dir = absolutePath(settings.app_dir.empty() ? "." : settings.app_dir);
    hint = py::missingPackageHint(error, {absolutePath("."), app_dir});
  }
  log::main().error("Error loading ASGI app \"{}\":\n{}{}", settings.app, error.traceback(),
                    hint.empty() ? "" : "\nHint: " + hint);
}

[[noreturn]] void exitNow(int code) {
  spdlog::shutdown();
  _exit(code);
}

class Worker {
 public:
  Worker(const config::Settings& settings, const std::vector<http::ListenerInfo>& listeners,
         const std::vector<std::string>& urls, const WorkerLink& link)
      : settings_(settings), listeners_(listeners), urls_(urls), link_(link) {}
  ~Worker();

  int run();

 private:
  enum class Phase { kStarting, kServing, kStopping };

  int startPython();
  bool startLifespan();
  void serve();
  void stopLifespan();
  void watchSignals();
  void beginShutdown(int signum);
  static void onSignal(struct ev_loop* loop, ev_signal* watcher, int events);
  static void onGraceTimeout(struct ev_loop* loop, ev_timer* watcher, int events);
  static void onHeartbeat(struct ev_loop* loop, ev_timer* watcher, int events);
  void stopWatchers();
  void enableFaultHandler();

  const config::Settings& settings_;
  const std::vector<http::ListenerInfo>& listeners_;
  const std::vector<std::string>& urls_;
  const WorkerLink& link_;
  Phase phase_ = Phase::kStarting;
  // Declared in the order they are made; destroyed in reverse (the server before Python).
  std::unique_ptr<py::Interpreter> interpreter_;
  std::unique_ptr<py::EventLoop> loop_;
  py::PyRef app_;
  py::PyRef state_;
  std::unique_ptr<py::Lifespan> lifespan_;
  std::unique_ptr<py::AsgiBridge> bridge_;
  std::unique_ptr<http::HttpServer> server_;
  std::unique_ptr<ws::WebSocketServer> websockets_;
  bool websockets_closed_ = false;  // the graceful period ended: WebSockets were told
  ev_signal sigint_;
  ev_signal sigterm_;
  ev_signal sigquit_;
  ev_signal sigusr1_;
  ev_timer grace_;
  ev_timer heartbeat_;
  bool watching_ = false;
};

Worker::~Worker() {
  stopWatchers();
}

void Worker::stopWatchers() {
  // Before the loop is destroyed: a signal arriving later must find no watcher of ours.
  if (!watching_ || !loop_) return;
  watching_ = false;
  struct ev_loop* loop = loop_->ev();
  ev_signal_stop(loop, &sigint_);
  ev_signal_stop(loop, &sigterm_);
  ev_signal_stop(loop, &sigquit_);
  ev_signal_stop(loop, &sigusr1_);
  ev_timer_stop(loop, &grace_);
  ev_timer_stop(loop, &heartbeat_);
}

// On SIGABRT (the master's "unresponsive" verdict) and fatal errors Python prints every
// thread's stack to stderr, so a stuck request shows where it is stuck.
void Worker::enableFaultHandler() {
  py::PyRef module = py::PyRef::steal(PyImport_ImportModule("faulthandler"));
  py::PyRef result;
  if (module) {
    result = py::PyRef::steal(
        PyObject_CallMethod(module.get(), "enable", "Oi", PySys_GetObject("stderr"), 1));
  }
  if (!result) {
    py::PyError error = py::PyError::fetch();
    log::main().warn("faulthandler not enabled: {}", error.what());
  }
}

void Worker::onHeartbeat(struct ev_loop*, ev_timer* watcher, int) {
  control::send(static_cast<Worker*>(watcher->data)->link_.control_fd, control::kHeartbeat);
}

// Python logging before the app import, so records logged at import time are routed too. A
// --log-config that dictConfig refuses stops the worker with the file named (the master then
// stops at startup, or abandons a HUP roll, rather than respawning in a loop).
bool installLogging(const config::Settings& settings) {
  try {
    py::installPythonLogging(settings);
  } catch (const py::PyError& error) {
    if (settings.log_config.empty()) {
      log::main().error("Cannot set up Python logging:\n{}", error.traceback());
    } else {
      log::main().error("--log-config {}: logging.config.dictConfig refused it: {}",
                        settings.log_config, error.what());
    }
    return false;
  }
  return true;
}

// kExitOk, or the exit code: the app could not be loaded, or --log-config was refused.
int Worker::startPython() {
  try {
    if (g_preloaded_app == nullptr) {
      interpreter_ = std::make_unique<py::Interpreter>(interpreterOptions(settings_));
      if (!installLogging(settings_)) return kExitConfigError;
    }
    loop_ = py::EventLoop::create();
    enableFaultHandler();
    app_ = g_preloaded_app != nullptr ? py::PyRef::borrow(g_preloaded_app)
                                      : py::importApp(settings_.app, settings_.factory);
  } catch (const py::PyError& error) {
    logAppImportError(settings_, error);
    return kExitAppError;
  } catch (const std::exception& error) {
    log::main().error("Error loading ASGI app. {}", error.what());
    return kExitAppError;
  }
  return kExitOk;
}

bool Worker::startLifespan() {
  if (settings_.lifespan == config::Lifespan::kOff) return true;
  state_ = py::PyRef::steal(PyDict_New());
  if (!state_) {
    py::PyError error = py::PyError::fetch();
    log::main().error("Application startup failed: {}", error.what());
    return false;
  }
  lifespan_ = std::make_unique<py::Lifespan>(*loop_, app_,
                                             settings_.lifespan == config::Lifespan::kOn, state_);
  return lifespan_->startup();
}

void Worker::serve() {
  bridge_ = std::make_unique<py::AsgiBridge>(*loop_, app_, settings_.root_path, state_);
  server_ =
      std::make_unique<http::HttpServer>(loop_->ev(), http::serverOptions(settings_), *bridge_);
  for (const auto& listener : listeners_) server_->addListener(listener);
  if (settings_.ws != config::WsImpl::kNone) {
    websockets_ =
        std::make_unique<ws::WebSocketServer>(*server_, ws::webSocketOptions(settings_), *bridge_);
  }
  if (link_.max_requests > 0) {
    server_->setRequestLimit(static_cast<uint64_t>(link_.max_requests), [this] {
      log::main().info("Served {} requests (--limit-max-requests): asking to be replaced",
                       link_.max_requests);
      control::send(link_.control_fd, control::kRetire);
    });
  }
  server_->start();
  if (link_.announce) {
    for (const auto& url : urls_) log::main().info("Listening on {} (pid {})", url, getpid());
  }
  phase_ = Phase::kServing;
  control::send(link_.control_fd, control::kReady);
  loop_->runForever();
}

void Worker::stopLifespan() {
  if (lifespan_) lifespan_->shutdown();
}

void Worker::watchSignals() {
  struct ev_loop* loop = loop_->ev();
  for (auto [watcher, signum] : {std::pair{&sigint_, SIGINT}, std::pair{&sigterm_, SIGTERM},
                                 std::pair{&sigquit_, SIGQUIT}, std::pair{&sigusr1_, SIGUSR1}}) {
    ev_signal_init(watcher, onSignal, signum);
    watcher->data = this;
    ev_signal_start(loop, watcher);
  }
  ev_init(&grace_, onGraceTimeout);
  grace_.data = this;
  // The heartbeat is written from the loop itself: if a request hogs the loop, it stops.
  double interval = std::min(1.0, settings_.timeout_worker_healthcheck / 3);
  ev_timer_init(&heartbeat_, onHeartbeat, 0.0, interval);
  heartbeat_.data = this;
  if (link_.control_fd >= 0) ev_timer_start(loop, &heartbeat_);
  watching_ = true;
}

void Worker::onSignal(struct ev_loop*, ev_signal* watcher, int) {
  static_cast<Worker*>(watcher->data)->beginShutdown(watcher->signum);
}

void Worker::beginShutdown(int signum) {
  if (signum == SIGUSR1) {
    if (log::reopen() == 0) log::main().info("SIGUSR1: reopened the log files");
    return;
  }
  if (signum == SIGQUIT) {
    log::main().info("SIGQUIT: exiting now");
    exitNow(kExitOk);
  }
  switch (phase_) {
    case Phase::kStarting:
      // A hung startup must not make Ctrl+C hang too.
      log::main().warn("signal {} during startup: exiting", signum);
      exitNow(kExitAppError);
    case Phase::kStopping:
      if (signum == SIGINT) {
        log::main().warn("second SIGINT: exiting at once");
        exitNow(kExitAppError);
      }
      return;
    case Phase::kServing:
      break;
  }
  phase_ = Phase::kStopping;
  log::main().info("Shutting down (signal {}): {} connection(s) open, {} request(s) in flight",
                   signum, server_->connectionCount(), server_->activeRequests());
  if (websockets_ && control::replacingAnnounced(link_.control_fd)) {
    websockets_->setDrainCode(ws::close_code::kServiceRestart);
  }
  ev_timer_set(&grace_, settings_.timeout_graceful_shutdown, 0.0);
  ev_timer_start(loop_->ev(), &grace_);
  server_->beginShutdown([this] {
    ev_timer_stop(loop_->ev(), &grace_);
    loop_->stop();
  });
}

void Worker::onGraceTimeout(struct ev_loop*, ev_timer* watcher, int) {
  auto* worker = static_cast<Worker*>(watcher->data);
  if (!worker->websockets_closed_ && worker->websockets_) {
    // Open WebSockets get a close frame (and their apps a websocket.disconnect) rather than
    // a reset, and a moment for the close handshake before everything is cut.
    worker->websockets_closed_ = true;
    if (size_t count = worker->websockets_->closeAll(); count > 0) {
      log::main().info("graceful shutdown: closing {} WebSocket(s) with {}", count,
                       worker->websockets_->drainCode());
      ev_timer_set(watcher, kWebSocketCloseGrace, 0.0);
      ev_timer_start(worker->loop_->ev(), watcher);
      return;
    }
  }
  log::main().warn("graceful shutdown timed out after {}s: closing {} connection(s)",
                   worker->settings_.timeout_graceful_shutdown, worker->server_->connectionCount());
  worker->server_->abortAll();
}

int Worker::run() {
  // The settings may be newer than the master's (a HUP): this worker's lines follow them.
  log::setFormat(config::logFormat(settings_));
  log::setWorker(link_.index);
  if (int code = startPython(); code != kExitOk) return code;
  watchSignals();
  if (!startLifespan()) return kExitStartupFailed;
  try {
    serve();
  } catch (const py::PyError& error) {
    log::main().error("the event loop failed:\n{}", error.traceback());
    return kExitAppError;
  }
  server_.reset();  // closes the connections, which still reach websockets_
  websockets_.reset();
  ev_timer_stop(loop_->ev(), &heartbeat_);
  stopLifespan();
  stopWatchers();
  return kExitOk;
}

}  // namespace

bool preloadApp(const config::Settings& settings) {
  try {
    g_preloaded_interpreter = new py::Interpreter(interpreterOptions(settings));
    if (!installLogging(settings)) return false;
    g_preloaded_app = py::importApp(settings.app, settings.factory).release();
  } catch (const py::PyError& error) {
    logAppImportError(settings, error);
    return false;
  } catch (const std::exception& error) {
    log::main().error("Error loading ASGI app. {}", error.what());
    return false;
  }
  log::main().info("Preloaded the app in the master (pid {})", getpid());
  return true;
}

bool preloaded() {
  return g_preloaded_app != nullptr;
}
void beforeFork() {
  PyOS_BeforeFork();
}
void afterForkInParent() {
  PyOS_AfterFork_Parent();
}
void afterForkInChild() {
  PyOS_AfterFork_Child();
}

int run(const config::Settings& settings, const std::vector<http::ListenerInfo>& listeners,
        const std::vector<std::string>& urls, const WorkerLink& link) {
  Worker worker(settings, listeners, urls, link);
  return worker.run();
}

}  // namespace asgid::worker
