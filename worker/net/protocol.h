// The interface between a transport (a socket with its watchers, output queue and timer) and
// the protocol that speaks over it: HTTP/1.1 today, WebSocket after an upgrade, HTTP/2 later.
// The transport calls these on the loop thread, never from inside a call the protocol made to
// the transport, with one exception: close() from inside the protocol calls onClosed() before
// it returns, so a protocol must not touch its transport after asking it to close.
#pragma once

#include <cstddef>

namespace asgid::net {

enum class CloseReason {
  kLocal,        // the protocol (or the server) closed the connection
  kAborted,      // the server gave up on the connection (graceful shutdown timed out)
  kPeerGone,     // the peer reset the connection, or closed it while we still had work
  kSendTimeout,  // the peer stopped reading for --timeout-send while output was queued
  kDone,         // the connection ended normally (after the lingering close)
};

class Protocol {
 public:
  virtual ~Protocol() = default;
  // Bytes arrived (only while the transport is reading, see Transport::setReading). `data`
  // is valid during the call only.
  virtual void onData(const char* data, size_t size) = 0;
  // The peer closed its sending side (end of input).
  virtual void onPeerClosed() = 0;
  // The flush pass ran for this transport (it was scheduled, or the socket became writable):
  // the output queue holds what the socket did not take yet. The place for work that must not
  // run inside the call that queued the output (starting the next pipelined request).
  virtual void onFlushed() = 0;
  // The deadline set with Transport::setDeadline passed.
  virtual void onTimeout() = 0;
  // The server is draining: finish the current exchange, take no new one.
  virtual void onShutdown() = 0;
  // The transport closed; no other call follows and the protocol is destroyed with it.
  virtual void onClosed(CloseReason reason) = 0;
};

}  // namespace asgid::net
