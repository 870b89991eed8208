// Principle: one HTTP/1.1 connection, owned by the HttpServer. The connection owns the socket,
// the parser, the buffers, the limits and the timer; the parser is pure and the application
// is reached only through RequestHandler / RequestObserver.
//
// State (one at a time; the timer belongs to the state):
//   kIdle         between requests, no byte of the next one yet (keep-alive timer; the header
//                 timer on a fresh connection)
//   kReadingHead  some bytes of a request head (header-read timer, from the first byte: a
//                 client trickling bytes does not extend it)
//   kInRequest    the head is complete and the app runs; the body streams with backpressure
//   kClosing      the last response is being written; then a lingering close (RFC 9112
//                 9.6: half-close and drain input so the peer reads the response, not a RST)
//   kClosed       the socket is closed; deleted by the server after this loop turn
//
// Every method is called on the loop thread.
#pragma once

#include <ev.h>

#include <cstdint>
#include <string>
#include <vector>

#include "worker/http/http_parser.h"
#include "worker/http/output_queue.h"
#include "worker/http/request_handler.h"
#include "worker/http/response_head.h"

namespace asgid::http {

class HttpServer;
struct ListenerInfo;

struct Endpoint {
  std::string host;  // numeric address, or the socket path for a Unix socket
  int port = -1;     // -1 for Unix sockets
};

class HttpConnection : private ParserCallbacks {
 public:
  HttpConnection(HttpServer& server, int fd, uint64_t id, Endpoint peer, const ListenerInfo& local);
  ~HttpConnection() override;
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  enum class State { kIdle, kReadingHead, kInRequest, kClosing, kClosed };

  void start();

  // --- For the request handler (valid in kInRequest while attached) ---
  const RequestHead& head() const { return head_; }
  const Endpoint& peer() const { return peer_; }
  const Endpoint& local() const { return local_; }
  bool unixSocket() const { return unix_socket_; }
  uint64_t id() const { return id_; }

  void attach(RequestObserver* observer);
  // Answers the current request with a short error response and closes.
  void respondError(int status);

  // Body: whether bytes or the end of the body are waiting to be taken.
  bool bodyReady() const { return !body_.empty() || (message_complete_ && !body_end_taken_); }
  // Moves the buffered body into `out` (replacing its content); returns whether more follows.
  bool takeBody(std::string& out);
  // The app waits for the body: send "100 Continue" if the client asked for it (RFC 9110
  // 10.1.1) and nothing was answered yet.
  void wantBody();

  // Response. startResponse stores the head; it is written with the first body piece so the
  // two leave together. Header names and values must have been validated by the caller.
  void startResponse(int status, std::vector<Header> headers);
  enum class SendResult {
    kOk,         // queued
    kCompleted,  // queued, and the response is complete: the observer is detached
    kTooLong,    // more bytes than the response's Content-Length: truncated, connection closes
    kClosed,     // the client is gone
  };
  // `release`/`owner` (optional) let a large body leave without a copy: release(owner) is
  // called once the bytes are written or dropped.
  SendResult sendBody(const char* data, size_t size, bool more, ReleaseFn release = nullptr,
                      void* owner = nullptr);
  // Whether the output queue is over the high-water mark (a send should wait for onWritable).
  bool writeBlocked();
  // The app is done with the request without completing the response (`failed`: it raised).
  // Answers 500 if nothing was sent, else closes the connection. Detaches the observer.
  void finishRequest(bool failed);

  // --- For the server ---
  State state() const { return state_; }
  bool busy() const { return state_ == State::kInRequest || state_ == State::kReadingHead; }
  void flush();
  // Stop after the current request (`connection: close`); idle connections close now.
  void shutdown();
  // Close now, telling an attached observer to stop its work.
  void abort();

 private:
  // ParserCallbacks.
  void onRequestHead(RequestHead& head) override;
  void onBody(std::string_view data) override;
  void onMessageComplete() override;

  static void onIo(struct ev_loop* loop, ev_io* watcher, int events);
  static void onTimer(struct ev_loop* loop, ev_timer* watcher, int events);
  void onReadable();
  void onWritableSocket();
  void onTimeout();
  void feed(const char* data, size_t size);
  void onPeerClosed();
  void processPending();
  void setState(State state);
  void resetRequest();
  bool hostHeaderValid() const;
  void updateReading();
  void completeResponse();
  void beginLingeringClose();
  void close();
  void notifyDisconnect(bool abort);
  void logAccess();
  void writeChunk(const char* data, size_t size, ReleaseFn release, void* owner);

  HttpServer& server_;
  int fd_;
  uint64_t id_;
  Endpoint peer_;
  Endpoint local_;
  bool unix_socket_;
  State state_ = State::kIdle;
  ev_io read_watcher_;
  ev_io write_watcher_;
  ev_timer timer_;
  HttpParser parser_;
  RequestHead head_;
  std::string pending_;  // bytes read past the current message (pipelining)
  std::string body_;     // request body waiting for the app
  OutputQueue output_;
  RequestObserver* observer_ = nullptr;

  // The current request.
  bool message_complete_ = false;
  bool body_end_taken_ = false;
  bool continue_sent_ = false;
  bool response_started_ = false;
  bool response_head_written_ = false;
  bool response_complete_ = false;
  int response_status_ = 0;
  std::vector<Header> response_headers_;
  ResponsePlan plan_;
  uint64_t body_bytes_sent_ = 0;
  uint64_t request_start_ns_ = 0;
  bool counted_active_ = false;

  // The connection.
  bool keep_alive_ = true;
  bool shutdown_requested_ = false;
  bool peer_closed_ = false;
  bool in_flush_list_ = false;
  bool lingering_ = false;
  size_t lingering_drained_ = 0;
  bool fresh_ = true;  // no request served yet
  bool body_notify_ = false;
  bool writer_waiting_ = false;
  size_t server_index_ = 0;

  friend class HttpServer;
};

}  // namespace asgid::http
