// permessage-deflate (RFC 7692) for the server side: the parameter negotiation, a bounded
// inflater and a compressor. Pure (zlib, no sockets); compiled as C++17 with the engine.
//
// Principle: memory per connection is what makes 10,000 WebSockets cheap, and zlib's state is
// the largest part of it (a 15-bit deflate stream costs about 256 KiB, an inflate stream about
// 40 KiB). So asgid always answers with server_no_context_takeover and
// client_no_context_takeover (RFC 7692 7.1.1.1 and 7.1.1.2 let a server add both to any offer
// it accepts): every message is compressed on its own, one compressor per worker serves every
// connection, and an inflater lives only while a compressed message is being read. The cost
// is a lower compression ratio for chatty small messages.
//
// The inflated size is bounded while inflating (a 50 KB frame that inflates to 50 MB stops at
// the limit): websocketpp bounds wire bytes only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

struct z_stream_s;

namespace asgid::ws {

// What the server answers to one permessage-deflate offer (RFC 7692 7.1).
struct DeflateAgreement {
  bool accepted = false;
  // The window the compressor may use, 8..15. 8 is honoured by compressing without
  // back-references (zlib cannot make an 8-bit window: it silently uses 9).
  int server_window_bits = 15;
  std::string response;  // the Sec-WebSocket-Extensions element, e.g. "permessage-deflate; ..."
};

// Decides on one offer, given its parameters (name, value; value "" when the parameter had
// none) with quoted values already unquoted. An offer with an unknown, repeated or invalid
// parameter is declined (7.1: the server must not accept it).
DeflateAgreement negotiateDeflate(const std::vector<std::pair<std::string, std::string>>& params);

enum class InflateStatus { kOk, kTooBig, kCorrupt };

// Inflates one message at a time (no context takeover: nothing carries over between messages).
class Inflater {
 public:
  Inflater();
  ~Inflater();
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;

  // Inflates a piece of a compressed message's payload onto `out`. `out` never grows past
  // `limit` bytes: kTooBig as soon as the message would.
  InflateStatus inflate(const uint8_t* data, size_t size, std::string& out, size_t limit);
  // The message is complete (its 00 00 ff ff tail inflated): frees zlib's state.
  void endMessage();
  bool active() const { return stream_ != nullptr; }

 private:
  std::unique_ptr<z_stream_s> stream_;
};

// Compresses one whole message (RFC 7692 7.2.1) into `out` (replacing its content), without the
// final 00 00 ff ff. Uses one compressor per thread and window size. False if zlib failed.
bool deflateMessage(const char* data, size_t size, int window_bits, std::string& out);

}  // namespace asgid::ws
