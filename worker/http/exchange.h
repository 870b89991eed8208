// The narrow interface between the HTTP protocol code and whatever runs the application (the
// ASGI bridge). The HTTP side knows nothing of Python; the bridge knows nothing of sockets,
// parsers or connection classes: it sees a request as a RequestInfo value (for the scope) and
// an Exchange port (receive the body, send the response).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "worker/http/http_parser.h"
#include "worker/http/response_head.h"
#include "worker/net/endpoint.h"
#include "worker/net/output_queue.h"

namespace asgid::http {

using net::Endpoint;
using net::ReleaseFn;

// What the application is told about a request: the head and where it came from. The
// references are valid while the exchange is attached. The addresses and the scheme are the
// effective ones (worker/http/request_origin.h): the PROXY protocol's addresses when the
// listener takes it, then what a trusted proxy's headers say; the scope's client, server and
// scheme are these values as they are.
struct RequestInfo {
  const RequestHead& head;
  const Endpoint& peer;        // the client (scope["client"])
  const Endpoint& local;       // the server (scope["server"])
  bool unix_socket = false;    // no client address: a Unix-socket peer, or a proxy's "unknown"
  std::string_view scheme;     // "http" or "https"; a WebSocket scope maps them to ws/wss
  uint64_t connection_id = 0;  // for log lines
};

// The bridge's per-request object, told what happens on the connection while it is attached
// (from Exchange::attach until the response completes or Exchange::finishRequest).
// Called on the loop thread, never from inside a call the observer itself made.
class RequestObserver {
 public:
  virtual ~RequestObserver() = default;
  // Body bytes or the end of the body can now be taken.
  virtual void onBodyReady() = 0;
  // The output queue drained below the low-water mark: a blocked send may go on.
  virtual void onWritable() = 0;
  // The client went away, or the server gave up on the request (`abort`: the graceful
  // shutdown timed out: stop the app's work). The observer is detached afterwards.
  virtual void onDisconnect(bool abort) = 0;
};

enum class SendResult {
  kOk,         // queued
  kCompleted,  // queued, and the response is complete: the observer is detached
  kTooLong,    // more bytes than the response's Content-Length: truncated, connection closes
  kClosed,     // the client is gone
};

// One request and its response, as the application side drives it. Valid from
// RequestHandler::onRequest until the observer is detached (response complete, finishRequest,
// respondError or onDisconnect).
class Exchange {
 public:
  virtual RequestInfo info() const = 0;
  virtual void attach(RequestObserver* observer) = 0;

  // Body: whether bytes or the end of the body are waiting to be taken.
  virtual bool bodyReady() const = 0;
  // Moves the buffered body into `out` (replacing its content); returns whether more follows.
  virtual bool takeBody(std::string& out) = 0;
  // The app waits for the body: send "100 Continue" if the client asked for it (RFC 9110
  // 10.1.1) and nothing was answered yet.
  virtual void wantBody() = 0;

  // Stores the response head; it is written with the first body piece so the two leave
  // together. Header names and values must have been validated by the caller. A status that
  // is not final (outside 200..999) is answered with 500 instead, and the next sendBody
  // returns kClosed.
  virtual void startResponse(int status, std::vector<Header> headers) = 0;
  // `release`/`owner` (optional) let a large body leave without a copy: release(owner) is
  // called once the bytes are written or dropped.
  virtual SendResult sendBody(const char* data, size_t size, bool more, ReleaseFn release = nullptr,
                              void* owner = nullptr) = 0;
  // Whether the output is over the high-water mark (a send should wait for onWritable).
  virtual bool writeBlocked() = 0;
  // The app is done without completing the response (`failed`: it raised). Answers 500 if
  // nothing was sent, else closes the connection. Detaches the observer.
  virtual void finishRequest(bool failed) = 0;
  // Answers with a short error response and closes. Detaches the observer.
  virtual void respondError(int status) = 0;

 protected:
  ~Exchange() = default;
};

class RequestHandler {
 public:
  virtual ~RequestHandler() = default;
  // A request head is complete. The handler starts the app and calls exchange.attach(), or
  // answers with exchange.respondError().
  virtual void onRequest(Exchange& exchange) = 0;
};

}  // namespace asgid::http
