// Principle: the HTTP/1.1 protocol on one transport. The parser is pure, the transport owns the
// socket, the output queue and the timer; this class holds the protocol state, the request
// body buffer and the response framing, and reaches the application only through the Exchange
// it implements and the RequestObserver the application attaches.
//
// State (one at a time; the deadline belongs to the state and is set in armTimer() alone):
//   kIdle         between requests, no byte of the next one yet: keep-alive timeout (the
//                 header timeout on a fresh connection; shortened while the server drains),
//                 counted from when the last response has left the output queue
//   kReadingHead  some bytes of a request head: header timeout from the first byte (a client
//                 trickling bytes does not extend it)
//   kInRequest    the head is complete and the app runs. While the body is awaited (the app
//                 can take more and the client has not sent it all), the body timeout, from
//                 the last byte received; no deadline otherwise (the transport's send timeout
//                 covers a client that does not read the response)
//   kClosing      the last response is being written, then the transport's lingering close
//   kClosed       the transport closed, or speaks another protocol after an upgrade; deleted
//                 after this loop turn
//
// Every method is called on the loop thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "worker/http/exchange.h"
#include "worker/http/http_parser.h"
#include "worker/http/request_origin.h"
#include "worker/http/response_head.h"
#include "worker/net/protocol.h"
#include "worker/net/transport.h"

namespace asgid::http {

class HttpServer;

class HttpConnection final : public net::Protocol, public Exchange, private ParserCallbacks {
 public:
  HttpConnection(HttpServer& server, net::Transport& transport);
  ~HttpConnection() override;
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  enum class State { kIdle, kReadingHead, kInRequest, kClosing, kClosed };
  State state() const { return state_; }
  // Starts the first state's timer (the transport has started reading).
  void start();

  // net::Protocol.
  void onData(const char* data, size_t size) override;
  void onPeerClosed() override;
  void onFlushed() override;
  void onTimeout() override;
  void onShutdown() override;
  void onClosed(net::CloseReason reason) override;

  // Exchange (valid in kInRequest).
  RequestInfo info() const override;
  void attach(RequestObserver* observer) override;
  bool bodyReady() const override {
    return !body_.empty() || (message_complete_ && !body_end_taken_);
  }
  bool takeBody(std::string& out) override;
  void wantBody() override;
  void startResponse(int status, std::vector<Header> headers) override;
  SendResult sendBody(const char* data, size_t size, bool more, ReleaseFn release = nullptr,
                      void* owner = nullptr) override;
  bool writeBlocked() override;
  void finishRequest(bool failed) override;
  void respondError(int status) override;

 private:
  // ParserCallbacks.
  void onRequestHead(RequestHead& head) override;
  void onBody(std::string_view data) override;
  void onMessageComplete() override;

  void feed(const char* data, size_t size);
  void upgrade(const char* data, size_t size);
  void failRequest(int status);
  bool bodyOverLimit(uint64_t bytes) const;
  void rejectLongBody();
  void advance();
  void nextRequest();
  void setState(State state);
  void armTimer();
  bool awaitingBody() const;
  void updateReading();
  void completeResponse();
  void endRequest();
  void closeAfterWrite();
  void notifyDisconnect(bool abort);
  void logAccess(int status);
  void addRequestId();
  void writeChunk(const char* data, size_t size, ReleaseFn release, void* owner);

  HttpServer& server_;
  net::Transport& transport_;
  State state_ = State::kIdle;
  HttpParser parser_;
  RequestHead head_;
  RequestOrigin origin_;  // client, server and scheme of head_, after trusted proxies' word
  std::string pending_;   // bytes read past the current message (pipelining)
  std::string body_;      // request body waiting for the app
  RequestObserver* observer_ = nullptr;

  // The current request.
  bool message_complete_ = false;
  bool body_end_taken_ = false;
  bool continue_sent_ = false;
  bool response_started_ = false;
  bool response_head_written_ = false;
  bool response_complete_ = false;
  bool request_logged_ = false;
  int response_status_ = 0;
  std::vector<Header> response_headers_;
  std::vector<Header> error_headers_;  // added to the server's own error response (426)
  ResponsePlan plan_;
  uint64_t body_bytes_sent_ = 0;
  uint64_t body_received_ = 0;  // request body bytes so far (--limit-request-body)
  uint64_t request_start_ns_ = 0;
  bool counted_active_ = false;

  // The connection.
  bool keep_alive_ = true;
  bool shutdown_requested_ = false;
  bool fresh_ = true;  // no request served yet
  bool body_notify_ = false;
  bool writer_waiting_ = false;
  bool idle_after_drain_ = false;  // kIdle's deadline waits for the output queue to empty
  bool upgrading_ = false;         // the head asked for the server's Upgrader: hand it over
};

}  // namespace asgid::http
