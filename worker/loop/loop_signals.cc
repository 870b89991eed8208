#include "worker/loop/loop_signals.h"

#include <pthread.h>

#include "worker/loop/loop_core.h"
#include "worker/loop/loop_handle.h"

namespace asgid::py::loop {
namespace {

bool sameDisposition(const struct sigaction& a, const struct sigaction& b) {
  if ((a.sa_flags & SA_SIGINFO) != (b.sa_flags & SA_SIGINFO)) return false;
  if (a.sa_flags & SA_SIGINFO) return a.sa_sigaction == b.sa_sigaction;
  return a.sa_handler == b.sa_handler;
}

// The table whose watcher holds each signal (GIL-protected, like every table operation).
SignalTable* g_owner[NSIG] = {};

}  // namespace

PyRef SignalTable::set(int signum, PyObject* handle) {
  Py_INCREF(handle);
  auto found = watches_.find(signum);
  PyRef previous;
  if (found == watches_.end()) {
    auto watch = std::make_unique<Watch>();
    ev_signal_init(&watch->watcher, &SignalTable::onSignal, signum);
    watch->watcher.data = watch.get();
    found = watches_.emplace(signum, std::move(watch)).first;
  } else {
    previous = PyRef::steal(found->second->handle);
  }
  found->second->handle = handle;
  if (!found->second->attached) attach(*found->second);
  return previous;
}

void SignalTable::attach(Watch& watch) {
  int signum = watch.watcher.signum;
  SignalTable* owner = g_owner[signum];
  if (owner != nullptr && owner != this) {
    // Take the signal over, and with it the disposition to restore in the end. Blocked
    // meanwhile: between the two libev calls the signal is at SIG_DFL.
    sigset_t block, saved;
    sigemptyset(&block);
    sigaddset(&block, signum);
    pthread_sigmask(SIG_BLOCK, &block, &saved);
    Watch& theirs = *owner->watches_.at(signum);
    owner->detach(theirs, false);
    watch.previous = theirs.previous;
    watch.restore_previous = theirs.restore_previous;
    ev_signal_start(ev_, &watch.watcher);
    pthread_sigmask(SIG_SETMASK, &saved, nullptr);
  } else {
    struct sigaction installed;
    ::sigaction(signum, nullptr, &watch.previous);
    ev_signal_start(ev_, &watch.watcher);
    ::sigaction(signum, nullptr, &installed);
    // Unchanged: another libev watcher already had the signal; nothing to put back later.
    watch.restore_previous = !sameDisposition(watch.previous, installed);
  }
  watch.attached = true;
  g_owner[signum] = this;
}

void SignalTable::detach(Watch& watch, bool restore) {
  int signum = watch.watcher.signum;
  if (!watch.attached) return;
  watch.attached = false;
  if (g_owner[signum] == this) g_owner[signum] = nullptr;
  ev_signal_stop(ev_, &watch.watcher);
  struct sigaction current;
  ::sigaction(signum, nullptr, &current);
  // libev resets a signal to SIG_DFL when its last watcher goes.
  if (restore && watch.restore_previous && current.sa_handler == SIG_DFL) {
    ::sigaction(signum, &watch.previous, nullptr);
  }
}

PyRef SignalTable::remove(int signum) {
  auto found = watches_.find(signum);
  if (found == watches_.end()) return PyRef();
  std::unique_ptr<Watch> watch = std::move(found->second);
  watches_.erase(found);
  detach(*watch, true);
  return PyRef::steal(watch->handle);
}

void SignalTable::onSignal(struct ev_loop* ev, ev_signal* watcher, int) noexcept {
  auto* watch = static_cast<Watch*>(watcher->data);
  PyObject* handle = watch->handle;
  // A cancelled handler is skipped; remove_signal_handler() unregisters it.
  if (isHandle(handle) && reinterpret_cast<HandleObject*>(handle)->cancelled) return;
  LoopCore::fromEv(ev)->pushReady(handle);
}

void SignalTable::releaseAll(Garbage& garbage) {
  for (auto& [signum, watch] : watches_) {
    detach(*watch, true);
    garbage.push_back(watch->handle);
  }
  watches_.clear();
}

int SignalTable::traverse(visitproc visit, void* arg) const {
  for (const auto& [signum, watch] : watches_) Py_VISIT(watch->handle);
  return 0;
}

}  // namespace asgid::py::loop
