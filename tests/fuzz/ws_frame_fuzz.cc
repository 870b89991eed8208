// libFuzzer target for the WebSocket frame reader (WsEngine::read over websocketpp's hybi13,
// with our bounded permessage-deflate). The first byte picks the options (permessage-deflate
// agreed or not, a small or a large message limit) and how the rest is cut into reads; the
// same bytes are then read whole and in pieces, and both readings must agree (but for a
// compressed message that breaks two rules, see below). The whole reading takes binary
// messages into external buffers where the engine reads them directly, and must give every
// buffer back. Checked for every frame: text is valid UTF-8, no message passes the limit,
// control payloads fit 125 bytes, and the reader never claims more bytes than it was given.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "worker/websocket/ws_engine.h"

namespace {

using asgid::ws::Frame;
using asgid::ws::Opcode;
using asgid::ws::ReadResult;
using asgid::ws::ReadStatus;
using asgid::ws::WsEngine;

void check(bool condition, const char* what) {
  if (!condition) {
    fprintf(stderr, "ws_frame_fuzz: %s\n", what);
    abort();
  }
}

bool validUtf8(const std::string& text) {
  size_t i = 0;
  while (i < text.size()) {
    auto c = static_cast<unsigned char>(text[i]);
    size_t length = c < 0x80           ? 1
                    : (c >> 5) == 0x6  ? 2
                    : (c >> 4) == 0xE  ? 3
                    : (c >> 3) == 0x1E ? 4
                                       : 0;
    if (length == 0 || i + length > text.size()) return false;
    uint32_t point = length == 1 ? c : c & (0x7F >> length);
    for (size_t k = 1; k < length; ++k) {
      auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) return false;
      point = (point << 6) | (next & 0x3F);
    }
    // Overlong forms, surrogates and code points past U+10FFFF are invalid (RFC 3629).
    if ((length == 2 && point < 0x80) || (length == 3 && point < 0x800) ||
        (length == 4 && point < 0x10000) || point > 0x10FFFF ||
        (point >= 0xD800 && point <= 0xDFFF)) {
      return false;
    }
    i += length;
  }
  return true;
}

// External buffers on the heap, counted.
struct HeapSource : asgid::ws::ExternalBufferSource {
  size_t given = 0;
  size_t released = 0;
  asgid::ws::ExternalBuffer messageBuffer(size_t size) override {
    ++given;
    auto* owner = new std::pair<std::string, HeapSource*>(std::string(size, '\0'), this);
    return asgid::ws::ExternalBuffer(owner->first.data(), size, release, owner);
  }
  static void release(void* opaque) {
    auto* owner = static_cast<std::pair<std::string, HeapSource*>*>(opaque);
    ++owner->second->released;
    delete owner;
  }
};

struct Outcome {
  std::vector<std::pair<Opcode, std::string>> frames;
  uint16_t error = 0;
};

Outcome readAll(std::string bytes, bool deflate, size_t limit, const std::vector<size_t>& cuts,
                HeapSource* source) {
  WsEngine engine(limit, deflate);
  engine.setBufferSource(source);
  if (deflate) {
    asgid::ws::HeaderList headers = {{"sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="},
                                     {"sec-websocket-version", "13"},
                                     {"sec-websocket-extensions", "permessage-deflate"}};
    check(engine.handshake("GET", 1, headers).status == 0, "handshake refused");
  }
  Outcome outcome;
  size_t at = 0;
  for (size_t cut_index = 0; at < bytes.size() && outcome.error == 0; ++cut_index) {
    size_t end =
        cut_index < cuts.size() ? std::min(bytes.size(), at + cuts[cut_index]) : bytes.size();
    while (at < end) {
      Frame frame;
      ReadResult result = engine.read(bytes.data() + at, end - at, frame);
      check(result.consumed <= end - at, "consumed more than given");
      at += result.consumed;
      if (result.status == ReadStatus::kError) {
        check(result.close_code == 1002 || result.close_code == 1007 || result.close_code == 1009,
              "unexpected close code");
        outcome.error = result.close_code;
        break;
      }
      if (result.status == ReadStatus::kNeedMore) {
        check(at == end, "needs more but left input");
        break;
      }
      if (frame.external) {
        check(frame.opcode == Opcode::kBinary && frame.payload.empty(), "external non-binary");
        frame.payload.assign(frame.external.data(), frame.external.size());
        frame.external.reset();
      }
      if (frame.opcode == Opcode::kText) check(validUtf8(frame.payload), "invalid UTF-8 text");
      if (frame.opcode == Opcode::kText || frame.opcode == Opcode::kBinary) {
        check(frame.payload.size() <= limit, "message over the limit");
      } else {
        check(frame.payload.size() <= 125, "control payload over 125 bytes");
      }
      outcome.frames.emplace_back(frame.opcode, std::move(frame.payload));
    }
  }
  return outcome;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  bool deflate = (data[0] & 1) != 0;
  size_t limit = (data[0] & 2) != 0 ? 1 << 20 : 300;
  size_t piece = 1 + data[1] % 17;
  std::string bytes(reinterpret_cast<const char*>(data + 2), size - 2);
  HeapSource source;
  Outcome whole = readAll(bytes, deflate, limit, {}, &source);
  check(source.released == source.given, "an external buffer was not released");
  std::vector<size_t> cuts(bytes.size() / piece + 1, piece);
  Outcome pieces = readAll(bytes, deflate, limit, cuts, nullptr);
  // A compressed message can be too big and invalid UTF-8 at once: which one shows first
  // depends on how much was inflated in one go, and either close code is right (RFC 6455
  // 7.4.1). Uncompressed sizes are known from the header, so there the codes must agree.
  bool both_apply = (whole.error == 1007 && pieces.error == 1009) ||
                    (whole.error == 1009 && pieces.error == 1007);
  check(whole.error == pieces.error || (deflate && both_apply),
        "whole and pieces disagree on the error");
  check(whole.frames == pieces.frames, "whole and pieces disagree on the frames");
  return 0;
}
