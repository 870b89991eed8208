// The engine over websocketpp: handshake checks and answers (RFC 6455 4.2), frames in with each
// protocol error's close code (5.x, 7.4.1), messages split across reads and fragments, and the
// frames the server writes.
#include "worker/websocket/ws_engine.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/unit/websocket/client_frames.h"
#include "worker/websocket/deflate.h"

namespace asgid::ws {
namespace {

HeaderList goodHeaders() {
  return {{"host", "x"},
          {"upgrade", "websocket"},
          {"connection", "Upgrade"},
          {"sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="},
          {"sec-websocket-version", "13"}};
}

std::string headerOf(const HandshakeAnswer& answer, const std::string& name) {
  for (const auto& [key, value] : answer.headers) {
    if (key == name) return value;
  }
  return "<none>";
}

TEST(WsHandshakeTest, AnswersTheRfcExample) {
  WsEngine engine(1 << 20, true);
  HandshakeAnswer answer = engine.handshake("GET", 1, goodHeaders());
  ASSERT_EQ(answer.status, 0) << answer.error;
  // RFC 6455 1.3's worked example.
  EXPECT_EQ(headerOf(answer, "sec-websocket-accept"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  EXPECT_EQ(headerOf(answer, "upgrade"), "websocket");
  EXPECT_EQ(headerOf(answer, "sec-websocket-extensions"), "<none>");
}

TEST(WsHandshakeTest, RefusesBadHandshakes) {
  auto without = [](const std::string& name) {
    HeaderList headers = goodHeaders();
    std::erase_if(headers, [&](const auto& header) { return header.first == name; });
    return headers;
  };
  auto with = [](const std::string& name, const std::string& value) {
    HeaderList headers = goodHeaders();
    for (auto& header : headers) {
      if (header.first == name) header.second = value;
    }
    return headers;
  };
  WsEngine engine(1 << 20, true);
  EXPECT_EQ(engine.handshake("GET", 1, without("sec-websocket-key")).status, 400);
  EXPECT_EQ(engine.handshake("GET", 1, with("sec-websocket-key", "short==")).status, 400);
  EXPECT_EQ(
      engine.handshake("GET", 1, with("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ!=")).status,
      400);
  EXPECT_EQ(engine.handshake("POST", 1, goodHeaders()).status, 400);
  EXPECT_EQ(engine.handshake("GET", 1, without("sec-websocket-version")).status, 400);
  HandshakeAnswer old = engine.handshake("GET", 1, with("sec-websocket-version", "8"));
  EXPECT_EQ(old.status, 426);
  EXPECT_EQ(headerOf(old, "sec-websocket-version"), "13");
}

TEST(WsHandshakeTest, ListsSubprotocolsAndAgreesOnDeflate) {
  HeaderList headers = goodHeaders();
  headers.emplace_back("sec-websocket-protocol", "chat, superchat");
  headers.emplace_back("sec-websocket-extensions",
                       "x-unknown, permessage-deflate; server_max_window_bits=99, "
                       "permessage-deflate; client_max_window_bits");
  WsEngine engine(1 << 20, true);
  HandshakeAnswer answer = engine.handshake("GET", 1, headers);
  ASSERT_EQ(answer.status, 0) << answer.error;
  EXPECT_EQ(answer.subprotocols, (std::vector<std::string>{"chat", "superchat"}));
  EXPECT_EQ(headerOf(answer, "sec-websocket-extensions"),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover");
  EXPECT_TRUE(engine.deflateAgreed());

  WsEngine plain(1 << 20, false);
  EXPECT_EQ(headerOf(plain.handshake("GET", 1, headers), "sec-websocket-extensions"), "<none>");
  EXPECT_FALSE(plain.deflateAgreed());
}

using testing::clientFrame;

struct Reader {
  WsEngine engine{1 << 16, false};
  std::vector<Frame> frames;
  ReadResult last;

  // Feeds `bytes` in pieces of `step`; stops at the first error.
  void feed(std::string bytes, size_t step = 1 << 20) {
    for (size_t at = 0; at < bytes.size();) {
      size_t end = std::min(bytes.size(), at + step);
      while (at < end) {
        Frame frame;
        last = engine.read(bytes.data() + at, end - at, frame);
        at += last.consumed;
        if (last.status == ReadStatus::kError) return;
        if (last.status == ReadStatus::kFrame) frames.push_back(std::move(frame));
        if (last.status == ReadStatus::kNeedMore) break;
      }
    }
  }
};

TEST(WsFramesTest, ReassemblesFragmentsWithInterleavedControlFrames) {
  for (size_t step : {1, 3, 1000}) {
    Reader reader;
    reader.feed(clientFrame(0x1, "Hel", false) + clientFrame(0x9, "ping!") +
                    clientFrame(0x0, "lo, ", false) + clientFrame(0x0, "w\xc3\xb6rld") +
                    clientFrame(0x2, std::string(60000, 'b')),
                step);
    ASSERT_EQ(reader.last.status, ReadStatus::kFrame) << reader.last.error;
    ASSERT_EQ(reader.frames.size(), 3u) << step;
    EXPECT_EQ(reader.frames[0].opcode, Opcode::kPing);
    EXPECT_EQ(reader.frames[0].payload, "ping!");
    EXPECT_EQ(reader.frames[1].opcode, Opcode::kText);
    EXPECT_EQ(reader.frames[1].payload, "Hello, w\xc3\xb6rld");
    EXPECT_EQ(reader.frames[2].payload.size(), 60000u);
  }
}

// The engine unmasks payloads itself, a word at a time: the key's phase must survive any split
// of the input, in headers and payloads alike, and empty frames carry no payload at all.
TEST(WsFramesTest, UnmasksWhateverTheReadBoundaries) {
  std::string binary(40000, '\0');
  for (size_t i = 0; i < binary.size(); ++i) binary[i] = static_cast<char>((i * 7919) >> 3);
  std::string wire = clientFrame(0x2, binary.substr(0, 13), false) + clientFrame(0x9, "") +
                     clientFrame(0x0, binary.substr(13, 30000), false) +
                     clientFrame(0x0, "", false) + clientFrame(0x0, binary.substr(30013)) +
                     clientFrame(0x1, "") + clientFrame(0x1, std::string(300, 'q'));
  for (size_t step : {1, 2, 3, 5, 7, 8, 9, 13, 4096, 1 << 20}) {
    Reader reader;
    reader.feed(wire, step);
    ASSERT_EQ(reader.last.status, ReadStatus::kFrame) << reader.last.error << " step " << step;
    ASSERT_EQ(reader.frames.size(), 4u) << step;
    EXPECT_EQ(reader.frames[0].opcode, Opcode::kPing);
    EXPECT_EQ(reader.frames[0].payload, "");
    EXPECT_EQ(reader.frames[1].opcode, Opcode::kBinary);
    EXPECT_TRUE(reader.frames[1].payload == binary) << "step " << step;
    EXPECT_EQ(reader.frames[2].opcode, Opcode::kText);
    EXPECT_EQ(reader.frames[2].payload, "");
    EXPECT_EQ(reader.frames[3].payload, std::string(300, 'q'));
  }
}

uint16_t errorCodeFor(const std::string& bytes) {
  Reader reader;
  reader.feed(bytes);
  return reader.last.status == ReadStatus::kError ? reader.last.close_code : 0;
}

TEST(WsFramesTest, EachProtocolErrorHasItsCloseCode) {
  EXPECT_EQ(errorCodeFor(clientFrame(0x1, "x", true, false, false)), close_code::kProtocolError);
  // Unmasked in the middle of a message, and an unmasked empty frame.
  EXPECT_EQ(errorCodeFor(clientFrame(0x1, "a", false) + clientFrame(0x0, "b", true, false, false)),
            close_code::kProtocolError);
  EXPECT_EQ(errorCodeFor(clientFrame(0xA, "", true, false, false)), close_code::kProtocolError);
  // A 64-bit length with its top bit set (RFC 6455 5.2), and a 16-bit length used for 5 bytes.
  EXPECT_EQ(errorCodeFor(std::string("\x82\xff\x80\0\0\0\0\0\0\x05"
                                     "abcd",
                                     14)),
            close_code::kProtocolError);
  EXPECT_EQ(errorCodeFor(std::string("\x82\xfe\0\x05"
                                     "abcd"
                                     "12345",
                                     13)),
            close_code::kProtocolError);
  EXPECT_EQ(errorCodeFor(clientFrame(0x1, "x", true, true)), close_code::kProtocolError);
  EXPECT_EQ(errorCodeFor(clientFrame(0x3, "x")), close_code::kProtocolError);
  EXPECT_EQ(errorCodeFor(clientFrame(0x9, "x", false)), close_code::kProtocolError);
  EXPECT_EQ(errorCodeFor(clientFrame(0x9, std::string(126, 'x'))), close_code::kProtocolError);
  EXPECT_EQ(errorCodeFor(clientFrame(0x0, "x")), close_code::kProtocolError);
  EXPECT_EQ(errorCodeFor(clientFrame(0x1, "a", false) + clientFrame(0x1, "b")),
            close_code::kProtocolError);
  EXPECT_EQ(errorCodeFor(clientFrame(0x1, "\xff")), close_code::kInvalidPayload);
  // Invalid UTF-8 fails as soon as it arrives, before the message ends.
  EXPECT_EQ(errorCodeFor(clientFrame(0x1, "ok\xc0", false)), close_code::kInvalidPayload);
  // A fragmented text message that ends inside a character.
  EXPECT_EQ(errorCodeFor(clientFrame(0x1, "a", false) + clientFrame(0x0, "\xc3")),
            close_code::kInvalidPayload);
  EXPECT_EQ(errorCodeFor(clientFrame(0x2, std::string(70000, 'x'))), close_code::kTooBig);
  EXPECT_EQ(errorCodeFor(clientFrame(0x8, std::string("\x03\xed", 2))),  // 1005 on the wire
            close_code::kProtocolError);
  EXPECT_EQ(errorCodeFor(clientFrame(0x8, "\x03")), close_code::kProtocolError);
  EXPECT_EQ(errorCodeFor(clientFrame(0x8, std::string("\x03\xe8\xff", 3))),
            close_code::kInvalidPayload);
}

TEST(WsFramesTest, CloseFramesCarryCodeAndReason) {
  Reader reader;
  reader.feed(clientFrame(0x8, std::string("\x0f\xa0", 2) + "bye") + clientFrame(0x8, ""));
  ASSERT_EQ(reader.frames.size(), 2u);
  EXPECT_EQ(reader.frames[0].close_code, 4000);
  EXPECT_EQ(reader.frames[0].payload, "bye");
  EXPECT_EQ(reader.frames[1].close_code, close_code::kNoStatus);
}

TEST(WsFramesTest, InflatesCompressedMessagesWithinTheLimit) {
  HeaderList headers = goodHeaders();
  headers.emplace_back("sec-websocket-extensions", "permessage-deflate");
  WsEngine engine(100000, true);
  ASSERT_EQ(engine.handshake("GET", 1, headers).status, 0);
  auto compressed = [](const std::string& text) {
    std::string out;
    EXPECT_TRUE(deflateMessage(text.data(), text.size(), 15, out));
    return out;
  };
  std::string text(50000, 'z');
  std::string wire = clientFrame(0x1, compressed(text), true, true);
  Frame frame;
  ReadResult result = engine.read(wire.data(), wire.size(), frame);
  ASSERT_EQ(result.status, ReadStatus::kFrame) << result.error;
  EXPECT_EQ(frame.payload, text);
  std::string bomb = clientFrame(0x2, compressed(std::string(200000, 'z')), true, true);
  result = engine.read(bomb.data(), bomb.size(), frame);
  EXPECT_EQ(result.status, ReadStatus::kError);
  EXPECT_EQ(result.close_code, close_code::kTooBig);
  // RFC 7692 6.1: RSV1 belongs on a message's first frame only.
  WsEngine fresh(100000, true);
  ASSERT_EQ(fresh.handshake("GET", 1, headers).status, 0);
  std::string half = compressed("continued");
  std::string bad_continuation = clientFrame(0x1, half.substr(0, 4), false, true) +
                                 clientFrame(0x0, half.substr(4), true, true);
  result = fresh.read(bad_continuation.data(), bad_continuation.size(), frame);
  EXPECT_EQ(result.status, ReadStatus::kError);
  EXPECT_EQ(result.close_code, close_code::kProtocolError);
  EXPECT_STREQ(result.error, "RSV1 on a continuation frame");
}

// Hands out buffers owned by heap strings, and counts what it gave and what came back.
struct CountingSource : ExternalBufferSource {
  std::vector<size_t> sizes;  // of every buffer asked for
  size_t released = 0;
  bool refuse = false;

  ExternalBuffer messageBuffer(size_t size) override {
    sizes.push_back(size);
    if (refuse) return {};
    auto* owner = new std::string(size, '\xee');
    return ExternalBuffer(owner->data(), size, &CountingSource::release, new Owner{owner, this});
  }

 private:
  struct Owner {
    std::string* bytes;
    CountingSource* source;
  };
  static void release(void* opaque) {
    auto* owner = static_cast<Owner*>(opaque);
    ++owner->source->released;
    delete owner->bytes;
    delete owner;
  }
};

std::string payloadOf(const Frame& frame) {
  return frame.external ? std::string(frame.external.data(), frame.external.size()) : frame.payload;
}

std::string patterned(size_t size) {
  std::string bytes(size, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>((i * 7919) >> 5);
  return bytes;
}

// A binary message in one uncompressed frame is read straight into the source's buffer, sized
// exactly, whatever the read boundaries; everything else (text, fragments, control frames)
// takes the engine's own memory.
TEST(WsFramesTest, ReadsOneFrameBinaryMessagesIntoTheBufferSource) {
  std::string big = patterned(40000);
  std::string wire = clientFrame(0x2, big) + clientFrame(0x1, "text") +
                     clientFrame(0x2, "frag", false) + clientFrame(0x9, "p") +
                     clientFrame(0x0, "ment") + clientFrame(0x2, "x") + clientFrame(0x2, "");
  for (size_t step : {1 << 20, 40003, 7, 1}) {
    CountingSource source;
    {
      Reader reader;
      reader.engine.setBufferSource(&source);
      reader.feed(wire, step);
      ASSERT_EQ(reader.last.status, ReadStatus::kFrame) << reader.last.error;
      ASSERT_EQ(reader.frames.size(), 6u);
      EXPECT_TRUE(payloadOf(reader.frames[0]) == big) << step;
      EXPECT_EQ(reader.frames[1].payload, "text");
      EXPECT_EQ(reader.frames[2].opcode, Opcode::kPing);
      EXPECT_EQ(payloadOf(reader.frames[3]), "fragment");
      EXPECT_EQ(reader.frames[3].opcode, Opcode::kBinary);
      EXPECT_EQ(payloadOf(reader.frames[4]), "x");
      EXPECT_EQ(reader.frames[5].opcode, Opcode::kBinary);
      EXPECT_EQ(payloadOf(reader.frames[5]), "");
      for (size_t i : {1, 2, 3, 5}) EXPECT_FALSE(reader.frames[i].external) << i;
      EXPECT_TRUE(reader.frames[4].external);
      // A header that arrives alone is believed up to 16 KiB: the 40000 bytes then grow in the
      // engine's memory as they come, rather than on the header's word.
      bool whole_in_hand = step >= 40003;
      EXPECT_EQ(static_cast<bool>(reader.frames[0].external), whole_in_hand) << step;
      std::vector<size_t> expected =
          whole_in_hand ? std::vector<size_t>{40000, 1} : std::vector<size_t>{1};
      EXPECT_EQ(source.sizes, expected) << step;
    }
    EXPECT_EQ(source.released, source.sizes.size()) << step;
  }
}

TEST(WsFramesTest, DirectMessagesKeepTheFramingRules) {
  CountingSource source;
  source.refuse = true;  // the engine's own memory then: same bytes, same checks
  Reader reader;
  reader.engine.setBufferSource(&source);
  reader.feed(clientFrame(0x2, patterned(1000)));
  ASSERT_EQ(reader.frames.size(), 1u);
  EXPECT_FALSE(reader.frames[0].external);
  EXPECT_TRUE(reader.frames[0].payload == patterned(1000));
  EXPECT_EQ(source.sizes, std::vector<size_t>{1000});
  // A whole binary message inside a fragmented one; over --ws-max-size; unmasked.
  EXPECT_EQ(errorCodeFor(clientFrame(0x2, "a", false) + clientFrame(0x2, "b")),
            close_code::kProtocolError);
  EXPECT_EQ(errorCodeFor(clientFrame(0x2, std::string((1 << 16) + 1, 'x'))), close_code::kTooBig);
  EXPECT_EQ(errorCodeFor(clientFrame(0x2, "abc", true, false, false)), close_code::kProtocolError);
}

// A message cut off by an error or by the end of the connection gives its buffer back.
TEST(WsFramesTest, ReleasesAnUnfinishedDirectMessage) {
  CountingSource source;
  std::string wire = clientFrame(0x2, patterned(3000));
  {
    WsEngine engine(1 << 16, false);
    engine.setBufferSource(&source);
    Frame frame;
    ReadResult result = engine.read(wire.data(), 1500, frame);
    EXPECT_EQ(result.status, ReadStatus::kNeedMore);
    EXPECT_EQ(source.sizes, std::vector<size_t>{3000});
    EXPECT_EQ(source.released, 0u);
  }
  EXPECT_EQ(source.released, 1u);
}

TEST(WsFramesTest, WritesUnmaskedFrames) {
  std::string out;
  WsEngine::writeDataHeader(Opcode::kText, 5, false, out);
  EXPECT_EQ(out, std::string("\x81\x05", 2));
  out.clear();
  WsEngine::writeDataHeader(Opcode::kBinary, 70000, true, out);
  EXPECT_EQ(out, std::string("\xc2\x7f\x00\x00\x00\x00\x00\x01\x11\x70", 10));
  out.clear();
  WsEngine::writeClose(1000, std::string(200, 'r'), out);
  EXPECT_EQ(out.size(), 2u + 125u);
  EXPECT_EQ(out.substr(0, 4), std::string("\x88\x7d\x03\xe8", 4));
}

}  // namespace
}  // namespace asgid::ws
