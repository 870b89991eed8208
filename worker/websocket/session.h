// The narrow interface between the WebSocket protocol code and whatever runs the application
// (the ASGI bridge), as exchange.h is for HTTP: the bridge sees a WebSocketSession port and
// implements a SessionObserver; it knows nothing of frames, sockets or timers.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "worker/http/exchange.h"
#include "worker/websocket/external_buffer.h"

namespace asgid::ws {

using http::Header;
using http::ReleaseFn;

// How the WebSocket ended, as the app's websocket.disconnect reports it.
struct CloseInfo {
  uint16_t code = 1006;
  std::string reason;
};

// Told what happens on the connection while attached (from WebSocketSession::attach until
// onDisconnect or WebSocketSession::finish). Called on the loop thread, never from inside a
// call the observer itself made.
class SessionObserver {
 public:
  virtual ~SessionObserver() = default;
  // A message, or the end of the session, can now be taken.
  virtual void onMessageReady() = 0;
  // The output queue drained below the low-water mark: a blocked send may go on.
  virtual void onWritable() = 0;
  // The WebSocket ended (closeInfo() says how), or the server gave up on it (`abort`: the
  // graceful shutdown timed out: stop the app's work). The observer is detached afterwards.
  virtual void onDisconnect(bool abort) = 0;
};

enum class SendStatus {
  kOk,      // queued
  kClosed,  // the WebSocket is closed (or closing): nothing was sent
};

struct Message {
  bool text = false;
  std::string data;
  ExternalBuffer external;  // a binary message in the handler's storage (then `data` is empty)
};

// One WebSocket, as the application side drives it (ASGI websocket spec 2.4). Valid from
// WebSocketHandler::onWebSocket until the observer is detached.
class WebSocketSession {
 public:
  virtual http::RequestInfo info() const = 0;
  virtual const std::vector<std::string>& subprotocols() const = 0;
  virtual void attach(SessionObserver* observer) = 0;

  // The handshake, before any of the calls below. Header names and values must have been
  // validated by the caller.
  // Answers 101 and opens the WebSocket; false if the client is already gone.
  virtual bool accept(std::string_view subprotocol, std::vector<Header> headers) = 0;
  // Refuses the handshake with an HTTP response (the websocket.http.response extension):
  // the head, then body pieces until `more` is false. A status outside 200..999 answers 500.
  virtual void denyStart(int status, std::vector<Header> headers) = 0;
  virtual SendStatus denyBody(const char* data, size_t size, bool more) = 0;
  // Refuses the handshake with 403 (websocket.close before websocket.accept).
  virtual void reject() = 0;

  // Messages, once accepted.
  virtual bool messageReady() const = 0;
  // Moves the next message into `out`; false when none is queued.
  virtual bool takeMessage(Message& out) = 0;
  // Sends one message. `release(owner)`, if given, is called once the bytes are written or
  // dropped (zero copy for large messages).
  virtual SendStatus send(bool text, const char* data, size_t size, ReleaseFn release = nullptr,
                          void* owner = nullptr) = 0;
  // Whether the output is over the high-water mark (a send should wait for onWritable).
  virtual bool writeBlocked() = 0;
  // Starts the close handshake with `code` (RFC 6455 7.4) and `reason`.
  virtual void close(uint16_t code, std::string_view reason) = 0;
  // Whether the session ended: closed by either side or the connection gone.
  virtual bool ended() const = 0;
  virtual const CloseInfo& closeInfo() const = 0;

  // The app is done (`failed`: it raised). Before the handshake was answered: 500; while open:
  // close with 1011 if it failed, 1000 otherwise. Detaches the observer.
  virtual void finish(bool failed) = 0;

 protected:
  ~WebSocketSession() = default;
};

class WebSocketHandler : public ExternalBufferSource {
 public:
  virtual ~WebSocketHandler() = default;
  // A valid WebSocket handshake arrived. The handler starts the app and calls
  // session.attach(), or refuses it with session.reject().
  virtual void onWebSocket(WebSocketSession& session) = 0;
  // Storage the handler would like a binary message of `size` bytes read into (it then comes
  // back as Message::external); by default none.
  ExternalBuffer messageBuffer(size_t) override { return {}; }
};

}  // namespace asgid::ws
