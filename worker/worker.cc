#include "worker/worker.h"

#include <ev.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <memory>

#include "common/log.h"
#include "worker/python/asgi_bridge.h"
#include "worker/python/event_loop.h"
#include "worker/python/interpreter.h"

namespace asgid::worker {
namespace {

std::string absolutePath(const std::string& path) {
  char resolved[PATH_MAX];
  if (realpath(path.c_str(), resolved) != nullptr) return resolved;
  return path;
}

http::ServerOptions serverOptions(const config::Settings& settings) {
  http::ServerOptions options;
  options.limits.max_target = static_cast<size_t>(settings.limit_request_line);
  options.limits.max_fields = static_cast<size_t>(settings.limit_request_fields);
  options.limits.max_field_size = static_cast<size_t>(settings.limit_request_field_size);
  options.limits.max_headers_size = static_cast<size_t>(settings.limit_request_headers_size);
  options.timeout_keep_alive = settings.timeout_keep_alive;
  options.timeout_request_header = settings.timeout_request_header;
  options.limit_concurrency = settings.limit_concurrency;
  options.server_header = settings.server_header;
  options.date_header = settings.date_header;
  options.extra_headers = settings.headers;
  return options;
}

[[noreturn]] void exitNow(int code) {
  spdlog::shutdown();
  _exit(code);
}

class Worker {
 public:
  Worker(const config::Settings& settings, const std::vector<http::ListenerInfo>& listeners,
         const std::vector<std::string>& urls)
      : settings_(settings), listeners_(listeners), urls_(urls) {}

  int run();

 private:
  enum class Phase { kStarting, kServing, kStopping };

  bool startPython();
  bool startLifespan();
  void serve();
  void stopLifespan();
  void watchSignals();
  void beginShutdown(int signum);
  static void onSignal(struct ev_loop* loop, ev_signal* watcher, int events);
  static void onGraceTimeout(struct ev_loop* loop, ev_timer* watcher, int events);

  const config::Settings& settings_;
  const std::vector<http::ListenerInfo>& listeners_;
  const std::vector<std::string>& urls_;
  Phase phase_ = Phase::kStarting;
  // Declared in the order they are made; destroyed in reverse (the server before Python).
  std::unique_ptr<py::Interpreter> interpreter_;
  std::unique_ptr<py::EventLoop> loop_;
  py::PyRef app_;
  py::PyRef state_;
  py::PyRef lifespan_;
  std::unique_ptr<py::AsgiBridge> bridge_;
  std::unique_ptr<http::HttpServer> server_;
  ev_signal sigint_;
  ev_signal sigterm_;
  ev_timer grace_;
};

bool Worker::startPython() {
  py::InterpreterOptions options;
  options.venv = settings_.venv;
  options.extra_paths.push_back(absolutePath(settings_.app_dir));
  options.argv.push_back("asgid");
  try {
    interpreter_ = std::make_unique<py::Interpreter>(options);
    loop_ = py::EventLoop::create();
    app_ = py::importApp(settings_.app, settings_.factory);
  } catch (const py::PyError& error) {
    log::main().error("Error loading ASGI app \"{}\":\n{}", settings_.app, error.traceback());
    return false;
  } catch (const std::exception& error) {
    log::main().error("Error loading ASGI app. {}", error.what());
    return false;
  }
  return true;
}

bool Worker::startLifespan() {
  if (settings_.lifespan == config::Lifespan::kOff) return true;
  try {
    state_ = py::checked(PyDict_New());
    PyObject* runtime = py::runtimeModule();
    const char* mode = settings_.lifespan == config::Lifespan::kOn ? "on" : "auto";
    lifespan_ = py::checked(
        PyObject_CallMethod(runtime, "Lifespan", "OsO", app_.get(), mode, state_.get()));
    py::PyRef startup = py::checked(PyObject_CallMethod(lifespan_.get(), "startup", nullptr));
    py::PyRef failure = py::PyRef::steal(loop_->runUntilComplete(startup.get()));
    if (failure.get() != Py_None) {
      py::PyRef text = py::checked(PyObject_Str(failure.get()));
      log::main().error("Application startup failed: {}. Exiting.", PyUnicode_AsUTF8(text.get()));
      return false;
    }
  } catch (const py::PyError& error) {
    log::main().error("Application startup failed:\n{}", error.traceback());
    return false;
  }
  log::main().info("Application startup complete.");
  return true;
}

void Worker::serve() {
  bridge_ = std::make_unique<py::AsgiBridge>(*loop_, app_, settings_.root_path, state_);
  server_ = std::make_unique<http::HttpServer>(loop_->ev(), serverOptions(settings_), *bridge_);
  for (const auto& listener : listeners_) server_->addListener(listener);
  server_->start();
  for (const auto& url : urls_) log::main().info("Listening on {} (pid {})", url, getpid());
  phase_ = Phase::kServing;
  loop_->runForever();
}

void Worker::stopLifespan() {
  if (!lifespan_) return;
  try {
    py::PyRef shutdown = py::checked(PyObject_CallMethod(lifespan_.get(), "shutdown", nullptr));
    py::PyRef result = py::PyRef::steal(loop_->runUntilComplete(shutdown.get()));
    log::main().info("Application shutdown complete.");
  } catch (const py::PyError& error) {
    log::main().error("Application shutdown failed:\n{}", error.traceback());
  }
}

void Worker::watchSignals() {
  ev_signal_init(&sigint_, onSignal, SIGINT);
  sigint_.data = this;
  ev_signal_init(&sigterm_, onSignal, SIGTERM);
  sigterm_.data = this;
  ev_signal_start(loop_->ev(), &sigint_);
  ev_signal_start(loop_->ev(), &sigterm_);
  ev_init(&grace_, onGraceTimeout);
  grace_.data = this;
}

void Worker::onSignal(struct ev_loop*, ev_signal* watcher, int) {
  static_cast<Worker*>(watcher->data)->beginShutdown(watcher->signum);
}

void Worker::beginShutdown(int signum) {
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
  ev_timer_set(&grace_, settings_.timeout_graceful_shutdown, 0.0);
  ev_timer_start(loop_->ev(), &grace_);
  server_->beginShutdown([this] {
    ev_timer_stop(loop_->ev(), &grace_);
    loop_->stop();
  });
}

void Worker::onGraceTimeout(struct ev_loop*, ev_timer* watcher, int) {
  auto* worker = static_cast<Worker*>(watcher->data);
  log::main().warn("graceful shutdown timed out after {}s: closing {} connection(s)",
                   worker->settings_.timeout_graceful_shutdown, worker->server_->connectionCount());
  worker->server_->abortAll();
}

int Worker::run() {
  if (!startPython()) return kExitAppError;
  watchSignals();
  if (!startLifespan()) return kExitStartupFailed;
  try {
    serve();
  } catch (const py::PyError& error) {
    log::main().error("the event loop failed:\n{}", error.traceback());
    return kExitAppError;
  }
  server_.reset();
  stopLifespan();
  ev_signal_stop(loop_->ev(), &sigint_);
  ev_signal_stop(loop_->ev(), &sigterm_);
  ev_timer_stop(loop_->ev(), &grace_);
  return kExitOk;
}

}  // namespace

int run(const config::Settings& settings, const std::vector<http::ListenerInfo>& listeners,
        const std::vector<std::string>& urls) {
  Worker worker(settings, listeners, urls);
  return worker.run();
}

}  // namespace asgid::worker
