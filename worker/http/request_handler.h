// The narrow interface between the HTTP protocol code and whatever runs the application (the
// ASGI bridge). The HTTP side knows nothing of Python.
#pragma once

namespace asgid::http {

class HttpConnection;

// The bridge's per-request object, told what happens on the connection while it is attached
// (from HttpConnection::attach until the response completes or HttpConnection::finishRequest).
// Called on the loop thread, never from inside a call the observer itself made.
class RequestObserver {
 public:
  virtual ~RequestObserver() = default;
  // Body bytes or the end of the body can now be taken.
  virtual void onBodyReady() = 0;
  // The output queue drained below the low-water mark: a blocked send may go on.
  virtual void onWritable() = 0;
  // The client went away or the server gave up on the request (`abort`: the graceful shutdown
  // timed out: stop the app's work). The observer is detached afterwards.
  virtual void onDisconnect(bool abort) = 0;
};

class RequestHandler {
 public:
  virtual ~RequestHandler() = default;
  // A request head is complete (HttpConnection::head()). The handler starts the app and calls
  // connection.attach(observer), or answers with connection.respondError().
  virtual void onRequest(HttpConnection& connection) = 0;
};

}  // namespace asgid::http
