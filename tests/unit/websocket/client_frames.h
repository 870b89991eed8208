// What a WebSocket client sends, for the tests: masked frames (RFC 6455 5.2, 5.3).
#pragma once

#include <cstdint>
#include <string>

namespace asgid::ws::testing {

// A client frame with a fixed masking key (or none: `masked` false), FIN and RSV1 as given.
inline std::string clientFrame(uint8_t opcode, const std::string& payload, bool fin = true,
                               bool rsv1 = false, bool masked = true) {
  std::string frame;
  frame += static_cast<char>((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode);
  uint8_t mask_bit = masked ? 0x80 : 0;
  if (payload.size() < 126) {
    frame += static_cast<char>(mask_bit | payload.size());
  } else if (payload.size() < 65536) {
    frame += static_cast<char>(mask_bit | 126);
    frame += static_cast<char>(payload.size() >> 8);
    frame += static_cast<char>(payload.size() & 0xFF);
  } else {
    frame += static_cast<char>(mask_bit | 127);
    for (int shift = 56; shift >= 0; shift -= 8) {
      frame += static_cast<char>((payload.size() >> shift) & 0xFF);
    }
  }
  const char key[4] = {0x12, 0x34, 0x56, 0x78};
  if (masked) frame.append(key, 4);
  for (size_t i = 0; i < payload.size(); ++i) {
    frame += masked ? static_cast<char>(payload[i] ^ key[i % 4]) : payload[i];
  }
  return frame;
}

}  // namespace asgid::ws::testing
