#include "worker/net/transport_set.h"

#include "worker/net/transport.h"

namespace asgid::net {

TransportSet::TransportSet(struct ev_loop* loop, TransportOptions options)
    : loop_(loop), options_(options), read_buffer_(new char[kReadBufferSize]) {
  ev_prepare_init(&prepare_, onPrepare);
  prepare_.data = this;
  ev_prepare_start(loop_, &prepare_);
  ev_idle_init(&wake_, onIdle);
  wake_.data = this;
}

TransportSet::~TransportSet() {
  on_retired_ = nullptr;
  forEach([](Transport& transport) { transport.close(CloseReason::kAborted); });
  for (Transport* transport : retired_) delete transport;
  ev_prepare_stop(loop_, &prepare_);
  ev_idle_stop(loop_, &wake_);
}

Transport& TransportSet::add(int fd, Endpoint peer, const ListenerInfo& local) {
  auto* transport = new Transport(*this, fd, next_id_++, std::move(peer), local);
  transport->set_index_ = live_.size();
  live_.push_back(transport);
  return *transport;
}

void TransportSet::forEach(const std::function<void(Transport&)>& fn) {
  std::vector<Transport*> snapshot = live_;
  for (Transport* transport : snapshot) {
    if (!transport->closed()) fn(*transport);
  }
}

void TransportSet::scheduleFlush(Transport& transport) {
  if (transport.in_flush_list_ || transport.closed()) return;
  transport.in_flush_list_ = true;
  dirty_.push_back(&transport);
}

void TransportSet::onPrepare(struct ev_loop*, ev_prepare* watcher, int) {
  static_cast<TransportSet*>(watcher->data)->flushAndReap();
}

void TransportSet::onIdle(struct ev_loop* loop, ev_idle* watcher, int) {
  ev_idle_stop(loop, watcher);
}

void TransportSet::wakeSoon() {
  if (!ev_is_active(&wake_)) ev_idle_start(loop_, &wake_);
}

void TransportSet::flushAndReap() {
  // A flush can start the next pipelined request, which can queue more: index, not iterator.
  for (size_t i = 0; i < dirty_.size(); ++i) dirty_[i]->flush();
  dirty_.clear();
  for (Transport* transport : retired_) delete transport;
  retired_.clear();
}

void TransportSet::retire(Transport& transport) {
  size_t index = transport.set_index_;
  if (index < live_.size() && live_[index] == &transport) {
    live_[index] = live_.back();
    live_[index]->set_index_ = index;
    live_.pop_back();
  }
  retired_.push_back(&transport);
  if (on_retired_) on_retired_();
}

}  // namespace asgid::net
