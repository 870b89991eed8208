// The WebSocket protocol engine (RFC 6455): the opening handshake's checks and answer, frames
// in (reassembled, validated, inflated messages and control frames) and frames out. It is a
// thin layer over websocketpp's processor::hybi13 with config::core (no asio): websocketpp
// stays inside ws_engine.cc, which is compiled as C++17 (its headers do not build as C++20 with
// GCC 12). No sockets, timers or close handshake here: those belong to WebSocketConnection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "worker/websocket/external_buffer.h"

namespace asgid::ws {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

enum class Opcode : uint8_t {
  kContinuation = 0x0,
  kText = 0x1,
  kBinary = 0x2,
  kClose = 0x8,
  kPing = 0x9,
  kPong = 0xA,
};

// Close codes (RFC 6455 7.4.1; 1012 from the IANA registry).
namespace close_code {
constexpr uint16_t kNormal = 1000;
constexpr uint16_t kGoingAway = 1001;
constexpr uint16_t kProtocolError = 1002;
constexpr uint16_t kNoStatus = 1005;  // never sent: the peer's close had no code
constexpr uint16_t kAbnormal = 1006;  // never sent: the connection dropped without a close
constexpr uint16_t kInvalidPayload = 1007;
constexpr uint16_t kTooBig = 1009;
constexpr uint16_t kInternalError = 1011;
constexpr uint16_t kServiceRestart = 1012;
}  // namespace close_code

// Whether an app may send `code` in a close frame (RFC 6455 7.4: 1000-1003, 1007-1014 and
// 3000-4999; 1004-1006 and 1015 are reserved for reporting, not for the wire).
bool isSendableCloseCode(int code);

struct HandshakeAnswer {
  int status = 0;     // 0: the handshake is valid; else the HTTP status to refuse it with
  std::string error;  // why, for the log
  // For a valid handshake: the 101's headers (Upgrade, Connection, Sec-WebSocket-Accept and
  // Sec-WebSocket-Extensions if one was agreed); for a refusal, headers the refusal must carry
  // (426: Sec-WebSocket-Version).
  HeaderList headers;
  std::vector<std::string> subprotocols;  // offered by the client, in order
};

// One complete message or control frame from the peer.
struct Frame {
  Opcode opcode = Opcode::kBinary;
  std::string payload;      // a data message, inflated; kClose: the reason
  ExternalBuffer external;  // or a binary message, when it was read into the buffer source's
  uint16_t close_code = 0;  // kClose: the code (kNoStatus when the frame had none)
};

enum class ReadStatus { kNeedMore, kFrame, kError };

struct ReadResult {
  ReadStatus status = ReadStatus::kNeedMore;
  size_t consumed = 0;      // bytes taken from the input
  uint16_t close_code = 0;  // kError: the close code that fails the connection
  const char* error = "";   // kError: why, for the log
};

class WsEngine {
 public:
  // `max_message_size` bounds a message after inflating (1009 beyond); `deflate_allowed`:
  // permessage-deflate may be negotiated.
  WsEngine(size_t max_message_size, bool deflate_allowed);
  ~WsEngine();
  WsEngine(const WsEngine&) = delete;
  WsEngine& operator=(const WsEngine&) = delete;

  // Checks an upgrade request (the head's method, minor version and headers, names
  // lowercased) and negotiates extensions.
  HandshakeAnswer handshake(std::string_view method, int http_minor, const HeaderList& headers);

  // Where binary messages that arrive in one uncompressed frame are read to (see
  // external_buffer.h); without a source, or when it gives nothing, into Frame::payload.
  void setBufferSource(ExternalBufferSource* source);

  // Reads frames from `data` (which it may unmask in place) until one complete message or control
  // frame is ready (kFrame: taken into `frame`), the input is used up (kNeedMore), or the peer
  // broke the protocol (kError: the connection must fail). Call again with the rest.
  ReadResult read(char* data, size_t size, Frame& frame);

  // Server frames are never masked and always carry a whole message (FIN set).
  // The header of a data frame of `payload_size` bytes; `compressed` sets RSV1.
  static void writeDataHeader(Opcode opcode, uint64_t payload_size, bool compressed,
                              std::string& out);
  // A whole control frame (payload at most 125 bytes).
  static void writeControl(Opcode opcode, std::string_view payload, std::string& out);
  // A close frame; the reason is cut to fit 123 bytes (at a UTF-8 boundary).
  static void writeClose(uint16_t code, std::string_view reason, std::string& out);

  // Compresses a message into `out` if the connection agreed on permessage-deflate and the
  // message is worth it; false: send it as it is.
  bool compress(const char* data, size_t size, std::string& out);
  bool deflateAgreed() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace asgid::ws
