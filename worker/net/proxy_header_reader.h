// Principle: the first stage of a connection on a PROXY protocol listener. It reads the PROXY
// header (worker/net/proxy_protocol.h) under a deadline, makes the addresses it names the
// transport's own, and hands the transport, with the bytes read past the header, to the
// protocol that serves it (HTTP/1.1) through Transport::switchProtocol. A separate protocol
// rather than a step inside HttpConnection: the HTTP code never sees a connection whose
// addresses may still change, and the PROXY protocol is not HTTP's business (it sits below
// any protocol a listener speaks). A connection without a valid header, or that does not send
// it in time, is closed without a word: it is not speaking HTTP yet.
#pragma once

#include <functional>
#include <string>

#include "worker/net/protocol.h"
#include "worker/net/transport.h"

namespace asgid::net {

class ProxyHeaderReader final : public Protocol {
 public:
  // `on_ready(transport, leftover)` switches the transport to the next protocol.
  using ReadyFn = std::function<void(Transport& transport, std::string leftover)>;
  ProxyHeaderReader(Transport& transport, double timeout, ReadyFn on_ready);

  // Arms the deadline (the transport has started reading).
  void start();

  void onData(const char* data, size_t size) override;
  void onPeerClosed() override;
  void onFlushed() override {}
  void onTimeout() override;
  void onShutdown() override;
  void onClosed(CloseReason) override {}

 private:
  void reject(const char* reason);

  Transport& transport_;
  double timeout_;
  ReadyFn on_ready_;
  std::string buffer_;
  bool done_ = false;
};

}  // namespace asgid::net
