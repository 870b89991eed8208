#include "worker/net/proxy_header_reader.h"

#include "common/client_log.h"
#include "worker/net/proxy_protocol.h"

namespace asgid::net {

ProxyHeaderReader::ProxyHeaderReader(Transport& transport, double timeout, ReadyFn on_ready)
    : transport_(transport), timeout_(timeout), on_ready_(std::move(on_ready)) {}

void ProxyHeaderReader::start() {
  transport_.setDeadline(timeout_);  // from the accept: trickling bytes does not extend it
}

void ProxyHeaderReader::onData(const char* data, size_t size) {
  if (done_) return;
  buffer_.append(data, size);
  ProxyHeader header = parseProxyHeader(buffer_.data(), buffer_.size());
  switch (header.status) {
    case ProxyHeader::Status::kNeedMore:
      return;
    case ProxyHeader::Status::kError:
      reject(header.error);
      return;
    case ProxyHeader::Status::kDone:
      break;
  }
  done_ = true;
  if (header.has_addresses) {
    transport_.setProxiedAddresses(std::move(header.source), std::move(header.destination),
                                   header.unix_family);
  }
  std::string leftover = buffer_.substr(header.consumed);
  buffer_.clear();
  on_ready_(transport_, std::move(leftover));  // this object is retired from here on
}

void ProxyHeaderReader::reject(const char* reason) {
  log::clientNoise("conn {} {}: {}: closing", transport_.id(), transport_.peer().host, reason);
  done_ = true;
  transport_.close();
}

void ProxyHeaderReader::onPeerClosed() {
  transport_.close(CloseReason::kPeerGone);
}

void ProxyHeaderReader::onTimeout() {
  reject("no complete PROXY protocol header in time");
}

void ProxyHeaderReader::onShutdown() {
  transport_.close();  // nothing was asked of us yet
}

}  // namespace asgid::net
