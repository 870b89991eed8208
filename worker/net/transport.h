// Principle: a transport is one accepted socket and everything that is about the socket rather
// than the protocol spoken over it: the fd, its read and write watchers, the output queue and
// its one-writev-per-loop-turn flush, the send timeout, the lingering close, and the
// connection's single timer. It drives one Protocol at a time and can hand itself to another
// (the HTTP/1.1 upgrade path).
//
// The one timer serves three deadlines, earliest first: the protocol's (its state's timeout,
// Transport::setDeadline), the send timeout (output queued and no byte written for
// `send_timeout` seconds: the peer stopped reading), and the lingering close's. Deadlines are
// kept as absolute loop times and the timer is re-armed lazily when it fires, so pushing a
// deadline back on every read or write costs a store, not a timer operation.
//
// Lifetime: owned by the TransportSet; close() stops everything at once and the object (with
// its protocol) is deleted after the current loop turn, so callers up the stack stay valid.
// Every method is called on the loop thread.
#pragma once

#include <ev.h>

#include <cstdint>
#include <memory>
#include <string>

#include "worker/net/endpoint.h"
#include "worker/net/output_queue.h"
#include "worker/net/protocol.h"

namespace asgid::net {

class TransportSet;

class Transport {
 public:
  Transport(TransportSet& set, int fd, uint64_t id, Endpoint peer, const ListenerInfo& local);
  ~Transport();
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // Starts reading and hands what arrives to `protocol`.
  void start(std::unique_ptr<Protocol> protocol);
  // Hands the connection to `protocol` (an HTTP/1.1 upgrade). The old protocol is destroyed
  // after the current loop turn; `leftover` (bytes read past the upgrade request) is given to
  // the new one first. The output queue, timer and watchers carry over.
  void switchProtocol(std::unique_ptr<Protocol> protocol, std::string leftover);

  // Output: queue bytes, then scheduleFlush(); they leave in one writev before the loop waits.
  OutputQueue& output() { return output_; }
  void scheduleFlush();

  // Whether the protocol wants bytes now (backpressure: off while its buffers are full).
  void setReading(bool on);
  bool reading() const { return want_read_; }

  // The protocol's deadline, `seconds` from now (replacing the previous one); clearDeadline
  // removes it.
  void setDeadline(double seconds);
  void clearDeadline();

  // Ends the connection once the output is written: half-close, then read and drop what the
  // peer still sends until it closes, for at most a few seconds (RFC 9112 9.6: so that the
  // peer reads our last response rather than a reset). The protocol hears nothing more but
  // onClosed.
  void closeAfterWrite();
  // The server drains: tells the protocol (unless the connection is already closing).
  void notifyShutdown();
  // Closes the socket now and tells the protocol (onClosed) before returning.
  void close(CloseReason reason = CloseReason::kLocal);
  bool closed() const { return fd_ < 0; }
  bool hasProtocol() const { return protocol_ != nullptr; }
  bool closing() const { return closing_; }

  // The PROXY protocol's word (worker/net/proxy_header_reader.h): the connection's ends as
  // the proxy in front of us saw them; `unix_socket` when they are socket paths.
  void setProxiedAddresses(Endpoint peer, Endpoint local, bool unix_socket) {
    peer_ = std::move(peer);
    local_ = std::move(local);
    unix_socket_ = unix_socket;
  }

  uint64_t id() const { return id_; }
  const Endpoint& peer() const { return peer_; }
  const Endpoint& local() const { return local_; }
  bool unixSocket() const { return unix_socket_; }
  TransportSet& set() { return set_; }

 private:
  friend class TransportSet;

  static void onIo(struct ev_loop* loop, ev_io* watcher, int events);
  static void onTimer(struct ev_loop* loop, ev_timer* watcher, int events);
  void onReadable();
  void flush();
  void onTimerFired();
  void armTimer();
  void beginLingering();
  void updateReadWatcher();

  TransportSet& set_;
  int fd_;
  uint64_t id_;
  Endpoint peer_;
  Endpoint local_;
  bool unix_socket_;
  std::unique_ptr<Protocol> protocol_;
  std::unique_ptr<Protocol> retired_protocol_;  // replaced by switchProtocol, deleted later
  OutputQueue output_;
  ev_io read_watcher_;
  ev_io write_watcher_;
  ev_timer timer_;
  // Absolute loop times (ev_now); 0 means none.
  double protocol_deadline_ = 0;
  double send_deadline_ = 0;
  double linger_deadline_ = 0;
  double armed_at_ = 0;  // when the ev_timer fires, if active
  size_t lingering_drained_ = 0;
  bool want_read_ = false;
  bool closing_ = false;
  bool lingering_ = false;
  bool peer_closed_ = false;
  bool in_flush_list_ = false;
  size_t set_index_ = 0;
};

}  // namespace asgid::net
