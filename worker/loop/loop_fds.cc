#include "worker/loop/loop_fds.h"

#include "worker/loop/loop_core.h"
#include "worker/loop/loop_handle.h"

namespace asgid::py::loop {
namespace {

PyObject*& slot(PyObject*& reader, PyObject*& writer, FdEvent event) {
  return event == FdEvent::kRead ? reader : writer;
}

bool isCancelled(PyObject* handle) {
  return isHandle(handle) && reinterpret_cast<HandleObject*>(handle)->cancelled;
}

}  // namespace

FdTable::Watch* FdTable::find(int fd) const {
  if (fd < 0 || static_cast<size_t>(fd) >= watches_.size()) return nullptr;
  return watches_[fd].get();
}

PyRef FdTable::set(int fd, FdEvent event, PyObject* handle) {
  if (static_cast<size_t>(fd) >= watches_.size()) watches_.resize(fd + 1);
  if (!watches_[fd]) {
    watches_[fd] = std::make_unique<Watch>();
    ev_io_init(&watches_[fd]->io, &FdTable::onReady, fd, 0);
  }
  Watch& watch = *watches_[fd];
  Py_INCREF(handle);
  PyRef previous = PyRef::steal(slot(watch.reader, watch.writer, event));
  slot(watch.reader, watch.writer, event) = handle;
  update(watch);
  return previous;
}

PyRef FdTable::remove(int fd, FdEvent event) {
  Watch* watch = find(fd);
  if (watch == nullptr) return PyRef();
  PyObject*& handle = slot(watch->reader, watch->writer, event);
  PyRef removed = PyRef::steal(handle);
  handle = nullptr;
  update(*watch);
  return removed;
}

bool FdTable::lookup(int fd, int* events, PyObject** reader, PyObject** writer) const {
  Watch* watch = find(fd);
  if (watch == nullptr || (watch->reader == nullptr && watch->writer == nullptr)) return false;
  *events = (watch->reader ? 1 : 0) | (watch->writer ? 2 : 0);  // selectors.EVENT_READ/WRITE
  *reader = watch->reader;
  *writer = watch->writer;
  return true;
}

void FdTable::update(Watch& watch) {
  int events = (watch.reader ? EV_READ : 0) | (watch.writer ? EV_WRITE : 0);
  int fd = watch.io.fd;
  ev_io_stop(ev_, &watch.io);
  if (events == 0) return;
  // Re-setting the watcher makes libev re-register the fd with the kernel, which is what
  // keeps a closed-and-reused fd number working.
  ev_io_set(&watch.io, fd, events);
  ev_io_start(ev_, &watch.io);
}

void FdTable::onReady(struct ev_loop* ev, ev_io* watcher, int revents) noexcept {
  FdTable& table = LoopCore::fromEv(ev)->fds();
  Watch& watch = *reinterpret_cast<Watch*>(watcher);  // io is Watch's first member
  // EV_ERROR (libev could not watch the fd) comes with EV_READ|EV_WRITE: the handles run and
  // meet the error in their own recv/send, as they would after a selector reported the fd.
  if (revents & EV_READ) table.dispatch(watch, FdEvent::kRead);
  if (revents & EV_WRITE) table.dispatch(watch, FdEvent::kWrite);
}

void FdTable::dispatch(Watch& watch, FdEvent event) {
  PyObject* handle = slot(watch.reader, watch.writer, event);
  if (handle == nullptr) return;
  LoopCore* core = LoopCore::fromEv(ev_);
  if (isCancelled(handle)) {
    // As asyncio's _process_events: a cancelled handle unregisters itself.
    core->deferDecref(remove(watch.io.fd, event).release());
    return;
  }
  core->pushReady(handle);
}

void FdTable::releaseAll(Garbage& garbage) {
  for (auto& watch : watches_) {
    if (!watch) continue;
    ev_io_stop(ev_, &watch->io);
    if (watch->reader != nullptr) garbage.push_back(watch->reader);
    if (watch->writer != nullptr) garbage.push_back(watch->writer);
    watch->reader = watch->writer = nullptr;
  }
  watches_.clear();
}

int FdTable::traverse(visitproc visit, void* arg) const {
  for (const auto& watch : watches_) {
    if (!watch) continue;
    Py_VISIT(watch->reader);
    Py_VISIT(watch->writer);
  }
  return 0;
}

}  // namespace asgid::py::loop
