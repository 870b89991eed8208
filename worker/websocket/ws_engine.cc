// websocketpp lives here alone (C++17, see CMakeLists.txt). Its processor::hybi13 parses and
// validates frames (reserved bits, opcodes, control frame rules, continuations, incremental
// UTF-8) and reassembles messages; two of its policy slots are ours: the message manager (it
// must not reserve a whole claimed frame size up front) and the permessage-deflate extension
// (it must bound the inflated size, see deflate.h).
//
// Principle: masking is ours. hybi13 unmasks one byte at a time, which cost more than all the
// rest of a 64 KiB echo (45 % of the worker's time). So the engine reads each frame's header
// itself, requires the mask (RFC 6455 5.1), and hands hybi13 the header without the masking
// key and the payload already unmasked a word at a time: hybi13 then sees the frames a client
// endpoint receives, and its processor runs in client mode, which accepts exactly those.
//
// A binary message in one uncompressed frame (the usual kind) goes further: it never reaches
// hybi13, whose header checks come down to one for such a frame (made here), and the engine
// copies the payload, unmasking as it goes, straight into the message's final storage
// (external_buffer.h). For a 64 KiB echo that was three passes over the bytes in user space
// (unmask, hybi13's append, the Python bytes) and is now one.
#include "worker/websocket/ws_engine.h"

#include <websocketpp/close.hpp>
#include <websocketpp/config/core.hpp>
#include <websocketpp/frame.hpp>
#include <websocketpp/message_buffer/message.hpp>
#include <websocketpp/processors/hybi13.hpp>

#include <algorithm>
#include <cctype>
#include <cstring>

#include "worker/websocket/deflate.h"

namespace asgid::ws {
namespace {

namespace wpp = websocketpp;

// Messages start with a modest buffer whatever size the frame header claims: a header is
// cheap to send, memory is not (the payload grows as bytes really arrive).
template <typename Message>
class MessageManager : public wpp::lib::enable_shared_from_this<MessageManager<Message>> {
 public:
  using ptr = wpp::lib::shared_ptr<MessageManager>;
  using weak_ptr = wpp::lib::weak_ptr<MessageManager>;
  using message_ptr = typename Message::ptr;
  static constexpr size_t kInitialReserve = 4096;

  message_ptr get_message() { return wpp::lib::make_shared<Message>(this->shared_from_this()); }
  message_ptr get_message(wpp::frame::opcode::value op, size_t size) {
    return wpp::lib::make_shared<Message>(this->shared_from_this(), op,
                                          std::min(size, kInitialReserve));
  }
  bool recycle(Message*) { return false; }
};

// The permessage-deflate slot of hybi13: negotiation and inflating are ours (deflate.h);
// compressing happens in WsEngine::compress, outside the processor.
template <typename Config>
class BoundedDeflate {
 public:
  using err_str_pair = std::pair<wpp::lib::error_code, std::string>;

  err_str_pair negotiate(wpp::http::attribute_list const& attributes) {
    if (!allowed) {
      return {wpp::processor::error::make_error_code(wpp::processor::error::extensions_disabled),
              {}};
    }
    DeflateAgreement agreement = negotiateDeflate({attributes.begin(), attributes.end()});
    if (!agreement.accepted) {
      // Declined: hybi13 goes on to the next offer.
      return {wpp::processor::error::make_error_code(wpp::processor::error::general), {}};
    }
    enabled_ = true;
    window_bits = agreement.server_window_bits;
    return {wpp::lib::error_code(), agreement.response};
  }
  wpp::lib::error_code init(bool) { return {}; }
  bool is_implemented() const { return true; }
  bool is_enabled() const { return enabled_; }
  std::string generate_offer() const { return {}; }
  wpp::lib::error_code compress(std::string const&, std::string&) {
    return wpp::processor::error::make_error_code(
        wpp::processor::error::general);  // WsEngine::compress does this
  }
  wpp::lib::error_code decompress(uint8_t const* data, size_t size, std::string& out) {
    switch (inflater.inflate(data, size, out, limit)) {
      case InflateStatus::kOk:
        return {};
      case InflateStatus::kTooBig:
        return wpp::processor::error::make_error_code(wpp::processor::error::message_too_big);
      case InflateStatus::kCorrupt:
        break;
    }
    return wpp::processor::error::make_error_code(wpp::processor::error::invalid_payload);
  }

  bool allowed = false;
  size_t limit = 0;
  int window_bits = 15;
  Inflater inflater;

 private:
  bool enabled_ = false;
};

struct EngineConfig : wpp::config::core {
  using type = EngineConfig;
  using message_type = wpp::message_buffer::message<MessageManager>;
  using con_msg_manager_type = MessageManager<message_type>;
  using permessage_deflate_type = BoundedDeflate<EngineConfig>;
};

// hybi13 keeps its extension protected; the engine reaches it to configure and reset it.
class Processor : public wpp::processor::hybi13<EngineConfig> {
 public:
  using hybi13::hybi13;
  BoundedDeflate<EngineConfig>& deflate() { return m_permessage_deflate; }
  // Whether a fragmented data message is being reassembled (its next frame must continue it).
  bool dataMessageOpen() const { return static_cast<bool>(m_data_msg.msg_ptr); }
  // The uncompressed data message being reassembled, if any.
  std::string* plainDataPayload() {
    auto& message = m_data_msg.msg_ptr;
    return message && !message->get_compressed() ? &message->get_raw_payload() : nullptr;
  }
};

// Grows a message's buffer ahead of `incoming` payload bytes that are already in hand, out of
// `frame_left` still due in the frame: at least doubling (no quadratic copying for big
// messages), never beyond the frame, and never beyond twice the bytes really received, these
// included (a header's claim alone reserves nothing: see MessageManager).
void reserveAhead(std::string& payload, uint64_t frame_left, size_t incoming) {
  uint64_t received = payload.size() + std::min<uint64_t>(frame_left, incoming);
  if (received <= payload.capacity()) return;
  uint64_t target = std::min<uint64_t>(payload.size() + frame_left,
                                       2 * std::max<uint64_t>(payload.capacity(), received));
  payload.reserve(static_cast<size_t>(target));
}

// RFC 6455 5.3: XOR `size` bytes of `in` with the 4-byte key, starting `phase` bytes into it,
// into `out` (which may be `in`); returns the new phase.
size_t unmask(const uint8_t* in, uint8_t* out, size_t size, const uint8_t (&key)[4], size_t phase) {
  uint8_t rotated[8];
  for (size_t i = 0; i < sizeof rotated; ++i) rotated[i] = key[(phase + i) % 4];
  uint64_t word;
  std::memcpy(&word, rotated, sizeof word);
  size_t i = 0;
  for (; i + sizeof word <= size; i += sizeof word) {
    uint64_t chunk;
    std::memcpy(&chunk, in + i, sizeof chunk);
    chunk ^= word;
    std::memcpy(out + i, &chunk, sizeof chunk);
  }
  for (; i < size; ++i) out[i] = in[i] ^ rotated[i % sizeof word];
  return (phase + size) % 4;
}

// hybi13 checks UTF-8 completeness at the end of a message only when its last frame is the
// text frame itself; for a fragmented message the check is ours. The bytes before the tail
// were validated as they came, so only an unfinished sequence at the end can be wrong.
bool endsOnCharacterBoundary(const std::string& text) {
  size_t n = text.size();
  for (size_t back = 1; back <= std::min<size_t>(n, 4); ++back) {
    auto byte = static_cast<unsigned char>(text[n - back]);
    if ((byte & 0xC0) == 0x80) continue;  // a continuation byte: look further back
    size_t length = byte < 0x80 ? 1 : (byte & 0xE0) == 0xC0 ? 2 : (byte & 0xF0) == 0xE0 ? 3 : 4;
    return length == back;
  }
  return n == 0;
}

uint16_t closeCodeFor(const wpp::lib::error_code& ec) {
  uint16_t code = wpp::processor::error::to_ws(ec);
  // Anything else hybi13 refuses (non-minimal length encodings, for one) breaks the framing.
  return code == close_code::kInvalidPayload || code == close_code::kTooBig
             ? code
             : close_code::kProtocolError;
}

// A Sec-WebSocket-Key is the base64 form of 16 bytes (RFC 6455 4.2.1): 22 characters and "==".
bool validKey(const std::string& key) {
  if (key.size() != 24 || key[22] != '=' || key[23] != '=') return false;
  return std::all_of(key.begin(), key.begin() + 22, [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/';
  });
}

}  // namespace

bool isSendableCloseCode(int code) {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
         (code >= 3000 && code <= 4999);
}

// The client frame being read: its header as it arrives, then how much payload is due and
// where in the masking key it stands.
struct ClientFrame {
  static constexpr size_t kMaxHeader = 14;  // 2, 8 bytes of length, 4 of key
  uint8_t header[kMaxHeader] = {};
  size_t header_size = 0;  // bytes of header collected
  uint64_t payload_left = 0;
  uint8_t key[4] = {};
  size_t key_phase = 0;
  bool control = false;
  bool direct = false;  // a single-frame binary message read past hybi13 (DirectMessage)

  bool inPayload() const { return header_size == 0 && payload_left > 0; }
  // The header's whole size once its first two bytes are in (RFC 6455 5.2).
  size_t headerSize() const {
    if (header_size < 2) return 2;
    uint8_t length_code = header[1] & 0x7F;
    size_t extended = length_code == 126 ? 2 : length_code == 127 ? 8 : 0;
    return 2 + extended + ((header[1] & 0x80) != 0 ? 4 : 0);
  }
};

// The binary message being read straight into its storage: a buffer from the source, or the
// engine's own string when there is none.
struct DirectMessage {
  // A claim this big is believed before its bytes arrive: as with reserveAhead, a header alone
  // must not buy more memory than this, and a message at least half in hand is allocated whole.
  static constexpr uint64_t kClaimBelieved = 16 * 1024;

  ExternalBuffer external;
  std::string plain;
  char* next = nullptr;  // where the next payload byte goes
  bool done = false;     // complete: read() hands it out

  static bool takes(const uint8_t* header, uint64_t payload_size, size_t max_message_size,
                    size_t in_hand) {
    constexpr uint8_t kFinalBinary = 0x82;  // FIN, no reserved bit (uncompressed), binary
    return header[0] == kFinalBinary && payload_size > 0 && payload_size <= max_message_size &&
           payload_size <= std::max<uint64_t>(kClaimBelieved, 2 * uint64_t{in_hand});
  }
  void open(size_t size, ExternalBufferSource* source) {
    if (source != nullptr) external = source->messageBuffer(size);
    if (external) {
      next = external.data();
    } else {
      plain.resize(size);
      next = plain.data();
    }
  }
};

struct WsEngine::Impl {
  wpp::config::core::rng_type rng;
  Processor processor;
  ClientFrame client_frame;
  size_t max_message_size;
  ExternalBufferSource* buffer_source = nullptr;
  DirectMessage direct;

  Impl(size_t max_message_size, bool deflate_allowed)
      : processor(false, /*p_is_server=*/false,
                  wpp::lib::make_shared<EngineConfig::con_msg_manager_type>(), rng),
        max_message_size(max_message_size) {
    processor.set_max_message_size(max_message_size);
    processor.deflate().allowed = deflate_allowed;
    processor.deflate().limit = max_message_size;
  }

  // Takes header bytes; once the header is whole, checks the mask and gives hybi13 the header
  // without it. Returns the bytes taken; `refused` names a header we fail the connection for.
  size_t readHeader(const uint8_t* data, size_t size, wpp::lib::error_code& ec,
                    const char*& refused);
  // Unmasks and gives hybi13 the payload bytes of the current frame that are in `data`.
  size_t readPayload(uint8_t* data, size_t size, wpp::lib::error_code& ec);
  bool messageReady() const { return direct.done || processor.ready(); }
};

size_t WsEngine::Impl::readHeader(const uint8_t* data, size_t size, wpp::lib::error_code& ec,
                                  const char*& refused) {
  ClientFrame& f = client_frame;
  size_t taken = 0;
  while (taken < size && f.header_size < f.headerSize()) f.header[f.header_size++] = data[taken++];
  if (f.header_size < f.headerSize()) return taken;
  // RFC 6455 5.1: a server fails the connection on an unmasked frame; 5.2: a 64-bit length
  // has its most significant bit clear.
  if ((f.header[1] & 0x80) == 0) {
    refused = "unmasked client frame";
    return taken;
  }
  if ((f.header[1] & 0x7F) == 127 && (f.header[2] & 0x80) != 0) {
    refused = "frame length out of range";
    return taken;
  }
  // RFC 7692 6.1: only a message's first frame says it is compressed (hybi13 lets RSV1 on a
  // continuation through when permessage-deflate was agreed).
  if ((f.header[0] & 0x0F) == 0 && (f.header[0] & 0x40) != 0) {
    refused = "RSV1 on a continuation frame";
    return taken;
  }
  size_t key_at = f.header_size - 4;
  std::memcpy(f.key, f.header + key_at, 4);
  f.key_phase = 0;
  f.control = (f.header[0] & 0x08) != 0;
  f.header[1] &= 0x7F;
  uint8_t length_code = f.header[1];
  f.payload_left = length_code < 126 ? length_code : 0;
  for (size_t i = 2; i < key_at; ++i) f.payload_left = (f.payload_left << 8) | f.header[i];
  f.header_size = 0;
  // RFC 6455 5.2: "the minimal number of bytes MUST be used to encode the length" (hybi13
  // checks it too, but a direct message's length never reaches it).
  if ((length_code == 126 && f.payload_left < 126) ||
      (length_code == 127 && f.payload_left <= 0xFFFF)) {
    refused = "length not in its minimal encoding";
    return taken;
  }
  // hybi13 validates the header (opcodes, reserved bits, lengths, control frame rules); a
  // frame without payload may complete a message here.
  if (DirectMessage::takes(f.header, f.payload_left, max_message_size, size - taken)) {
    // Of hybi13's header checks, only one can fail a final binary frame without reserved bits
    // (RFC 6455 5.4: a new data message while a fragmented one is open).
    if (processor.dataMessageOpen()) {
      refused = "a new message inside a fragmented one";
      return taken;
    }
    f.direct = true;
    direct.open(static_cast<size_t>(f.payload_left), buffer_source);
    return taken;
  }
  processor.consume(f.header, key_at, ec);
  return taken;
}

size_t WsEngine::Impl::readPayload(uint8_t* data, size_t size, wpp::lib::error_code& ec) {
  ClientFrame& f = client_frame;
  size_t n = static_cast<size_t>(std::min<uint64_t>(f.payload_left, size));
  if (f.direct) {
    f.key_phase = unmask(data, reinterpret_cast<uint8_t*>(direct.next), n, f.key, f.key_phase);
    direct.next += n;
    f.payload_left -= n;
    direct.done = f.payload_left == 0;
    f.direct = !direct.done;
    return n;
  }
  if (!f.control) {
    if (std::string* payload = processor.plainDataPayload()) {
      reserveAhead(*payload, f.payload_left, n);
    }
  }
  f.key_phase = unmask(data, data, n, f.key, f.key_phase);
  f.payload_left -= n;
  // Exactly the frame's bytes: hybi13 takes them all, and a message it completes ends here.
  processor.consume(data, n, ec);
  return n;
}

WsEngine::WsEngine(size_t max_message_size, bool deflate_allowed)
    : impl_(std::make_unique<Impl>(max_message_size, deflate_allowed)) {}

WsEngine::~WsEngine() = default;

void WsEngine::setBufferSource(ExternalBufferSource* source) {
  impl_->buffer_source = source;
}

HandshakeAnswer WsEngine::handshake(std::string_view method, int http_minor,
                                    const HeaderList& headers) {
  HandshakeAnswer answer;
  auto refuse = [&answer](int status, const char* why) {
    answer.status = status;
    answer.error = why;
    return answer;
  };
  wpp::http::parser::request request;
  std::string version;
  try {
    request.set_method(std::string(method));
    request.set_version(http_minor == 0 ? "HTTP/1.0" : "HTTP/1.1");
    for (const auto& [name, value] : headers) {
      if (name.rfind("sec-websocket-", 0) == 0) request.append_header(name, value);
      if (name == "sec-websocket-version") version = version.empty() ? value : version + ",";
    }
  } catch (const std::exception&) {
    return refuse(400, "malformed handshake header");
  }
  if (impl_->processor.validate_handshake(request)) {
    return refuse(400, "not a valid WebSocket handshake (GET, HTTP/1.1, Sec-WebSocket-Key)");
  }
  if (version != "13") {
    // RFC 6455 4.2.2: name the versions we speak.
    answer.headers.emplace_back("sec-websocket-version", "13");
    return refuse(version.empty() ? 400 : 426, "unsupported Sec-WebSocket-Version");
  }
  if (!validKey(request.get_header("Sec-WebSocket-Key"))) {
    return refuse(400, "malformed Sec-WebSocket-Key");
  }
  if (impl_->processor.extract_subprotocols(request, answer.subprotocols)) {
    return refuse(400, "malformed Sec-WebSocket-Protocol");
  }
  std::string extensions;
  if (!request.get_header("Sec-WebSocket-Extensions").empty()) {
    auto negotiated = impl_->processor.negotiate_extensions(request);
    if (negotiated.first == wpp::processor::error::extension_parse_error) {
      return refuse(400, "malformed Sec-WebSocket-Extensions");
    }
    extensions = negotiated.second;
  }
  wpp::http::parser::response response;
  if (impl_->processor.process_handshake(request, "", response)) {
    return refuse(400, "cannot answer the handshake");
  }
  answer.headers.emplace_back("upgrade", "websocket");
  answer.headers.emplace_back("connection", "Upgrade");
  answer.headers.emplace_back("sec-websocket-accept", response.get_header("Sec-WebSocket-Accept"));
  if (!extensions.empty()) answer.headers.emplace_back("sec-websocket-extensions", extensions);
  return answer;
}

ReadResult WsEngine::read(char* data, size_t size, Frame& frame) {
  ReadResult result;
  Processor& processor = impl_->processor;
  auto* bytes = reinterpret_cast<uint8_t*>(data);
  wpp::lib::error_code ec;
  const char* refused = nullptr;
  while (result.consumed < size && !ec && refused == nullptr && !impl_->messageReady()) {
    size_t at = result.consumed;
    result.consumed += impl_->client_frame.inPayload()
                           ? impl_->readPayload(bytes + at, size - at, ec)
                           : impl_->readHeader(bytes + at, size - at, ec, refused);
  }
  if (refused != nullptr) {
    result.status = ReadStatus::kError;
    result.close_code = close_code::kProtocolError;
    result.error = refused;
    return result;
  }
  if (ec) {
    result.status = ReadStatus::kError;
    result.close_code = closeCodeFor(ec);
    result.error = ec == wpp::processor::error::message_too_big ? "message too big"
                   : result.close_code == close_code::kInvalidPayload
                       ? "invalid payload (UTF-8 or compressed data)"
                       : "protocol error";
    return result;
  }
  if (!impl_->messageReady()) return result;
  result.status = ReadStatus::kFrame;
  DirectMessage& direct = impl_->direct;
  frame.external = std::move(direct.external);
  if (direct.done) {
    direct.done = false;
    frame.opcode = Opcode::kBinary;
    frame.payload.swap(direct.plain);
    direct.plain = std::string();
    return result;
  }
  auto message = processor.get_message();
  frame.opcode = static_cast<Opcode>(message->get_opcode());
  frame.payload.swap(message->get_raw_payload());
  if (message->get_compressed()) processor.deflate().inflater.endMessage();
  if (frame.opcode == Opcode::kText && !endsOnCharacterBoundary(frame.payload)) {
    result.status = ReadStatus::kError;
    result.close_code = close_code::kInvalidPayload;
    result.error = "invalid UTF-8";
  } else if (frame.opcode == Opcode::kClose) {
    // RFC 6455 5.5.1: a code, then a UTF-8 reason; either may be malformed.
    wpp::lib::error_code code_error;
    wpp::lib::error_code reason_error;
    frame.close_code = wpp::close::extract_code(frame.payload, code_error);
    std::string reason = wpp::close::extract_reason(frame.payload, reason_error);
    if (code_error || reason_error ||
        (frame.close_code != close_code::kNoStatus && !isSendableCloseCode(frame.close_code))) {
      result.status = ReadStatus::kError;
      result.close_code =
          reason_error && !code_error ? close_code::kInvalidPayload : close_code::kProtocolError;
      result.error = "invalid close frame";
    }
    frame.payload = std::move(reason);
  }
  return result;
}

void WsEngine::writeDataHeader(Opcode opcode, uint64_t payload_size, bool compressed,
                               std::string& out) {
  wpp::frame::basic_header basic(static_cast<wpp::frame::opcode::value>(opcode), payload_size, true,
                                 false, compressed);
  wpp::frame::extended_header extended(payload_size);
  out += wpp::frame::prepare_header(basic, extended);
}

void WsEngine::writeControl(Opcode opcode, std::string_view payload, std::string& out) {
  payload = payload.substr(0, wpp::frame::limits::payload_size_basic);
  writeDataHeader(opcode, payload.size(), false, out);
  out.append(payload);
}

void WsEngine::writeClose(uint16_t code, std::string_view reason, std::string& out) {
  // 125 bytes of payload: the code and at most 123 bytes of reason, cut before a continuation
  // byte so the reason stays valid UTF-8.
  size_t length = std::min<size_t>(reason.size(), 123);
  while (length > 0 && length < reason.size() &&
         (static_cast<unsigned char>(reason[length]) & 0xC0) == 0x80) {
    --length;
  }
  std::string payload;
  payload += static_cast<char>(code >> 8);
  payload += static_cast<char>(code & 0xFF);
  payload.append(reason.substr(0, length));
  writeControl(Opcode::kClose, payload, out);
}

bool WsEngine::deflateAgreed() const {
  return impl_->processor.deflate().is_enabled();
}

bool WsEngine::compress(const char* data, size_t size, std::string& out) {
  // Below this a message rarely shrinks enough to pay for the work.
  constexpr size_t kMinCompressedSize = 64;
  if (!deflateAgreed() || size < kMinCompressedSize) return false;
  return deflateMessage(data, size, impl_->processor.deflate().window_bits, out);
}

}  // namespace asgid::ws
