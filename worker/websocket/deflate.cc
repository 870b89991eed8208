#include "worker/websocket/deflate.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>

namespace asgid::ws {
namespace {

constexpr const char kTail[] = {'\x00', '\x00', '\xff', '\xff'};

// A window-bits value: "8".."15", digits only (RFC 7692 7.1.2.1).
std::optional<int> parseWindowBits(const std::string& value) {
  if (value.size() == 1 && value[0] >= '8' && value[0] <= '9') return value[0] - '0';
  if (value.size() == 2 && value[0] == '1' && value[1] >= '0' && value[1] <= '5') {
    return 10 + (value[1] - '0');
  }
  return std::nullopt;
}

struct DeflateStreamDeleter {
  void operator()(z_stream* stream) const {
    deflateEnd(stream);
    delete stream;
  }
};
using DeflateStream = std::unique_ptr<z_stream, DeflateStreamDeleter>;

z_stream* compressorFor(int window_bits) {
  thread_local std::array<DeflateStream, 16> compressors;
  DeflateStream& slot = compressors[static_cast<size_t>(window_bits)];
  if (!slot) {
    auto stream = DeflateStream(new z_stream{});
    // zlib turns an 8-bit raw window into 9; a stream without matches (Huffman only) has no
    // back-reference at all, so any window the peer keeps is enough.
    int bits = window_bits == 8 ? 9 : window_bits;
    int strategy = window_bits == 8 ? Z_HUFFMAN_ONLY : Z_DEFAULT_STRATEGY;
    if (deflateInit2(stream.get(), Z_DEFAULT_COMPRESSION, Z_DEFLATED, -bits, 8, strategy) != Z_OK) {
      stream.release();  // deflateEnd on a failed init is not allowed; the struct leaks nothing
      return nullptr;
    }
    slot = std::move(stream);
  }
  return slot.get();
}

}  // namespace

DeflateAgreement negotiateDeflate(const std::vector<std::pair<std::string, std::string>>& params) {
  bool server_no_takeover = false;
  bool client_no_takeover = false;
  bool client_bits = false;
  std::optional<int> server_bits;
  for (const auto& [name, value] : params) {
    if (name == "server_no_context_takeover" || name == "client_no_context_takeover") {
      bool& seen = name[0] == 's' ? server_no_takeover : client_no_takeover;
      if (seen || !value.empty()) return {};
      seen = true;
    } else if (name == "server_max_window_bits") {
      if (server_bits) return {};
      server_bits = parseWindowBits(value);
      if (!server_bits) return {};
    } else if (name == "client_max_window_bits") {
      // The client can limit its window; our inflater takes any window, so no answer is
      // needed (7.1.2.2: the server may leave it out).
      if (client_bits || (!value.empty() && !parseWindowBits(value))) return {};
      client_bits = true;
    } else {
      return {};
    }
  }
  DeflateAgreement agreement;
  agreement.accepted = true;
  agreement.response = "permessage-deflate; server_no_context_takeover; client_no_context_takeover";
  if (server_bits) {
    agreement.server_window_bits = *server_bits;
    agreement.response += "; server_max_window_bits=" + std::to_string(*server_bits);
  }
  return agreement;
}

Inflater::Inflater() = default;

Inflater::~Inflater() {
  endMessage();
}

void Inflater::endMessage() {
  if (stream_) {
    inflateEnd(stream_.get());
    stream_.reset();
  }
}

InflateStatus Inflater::inflate(const uint8_t* data, size_t size, std::string& out, size_t limit) {
  if (!stream_) {
    stream_ = std::make_unique<z_stream>();
    if (inflateInit2(stream_.get(), -15) != Z_OK) {
      stream_.reset();
      return InflateStatus::kCorrupt;
    }
  }
  z_stream& z = *stream_;
  z.next_in = const_cast<Bytef*>(data);
  z.avail_in = static_cast<uInt>(size);
  while (true) {
    // One byte past the limit is room enough to learn that the message is too big.
    size_t room = limit > out.size() ? limit - out.size() : 0;
    size_t chunk = std::min<size_t>(room + 1, 64 * 1024);
    size_t old_size = out.size();
    out.resize(old_size + chunk);
    z.next_out = reinterpret_cast<Bytef*>(out.data() + old_size);
    z.avail_out = static_cast<uInt>(chunk);
    int rc = ::inflate(&z, Z_SYNC_FLUSH);
    out.resize(old_size + chunk - z.avail_out);
    if (out.size() > limit) return InflateStatus::kTooBig;
    if (rc == Z_STREAM_END) {
      // A final block (BFINAL) ends the deflate stream; what follows (the tail we append)
      // starts a new one.
      if (inflateReset(&z) != Z_OK) return InflateStatus::kCorrupt;
    } else if (rc == Z_BUF_ERROR) {
      if (z.avail_out != 0) return InflateStatus::kOk;  // all input taken
    } else if (rc != Z_OK) {
      return InflateStatus::kCorrupt;
    }
    if (z.avail_in == 0 && z.avail_out != 0) return InflateStatus::kOk;
  }
}

bool deflateMessage(const char* data, size_t size, int window_bits, std::string& out) {
  z_stream* z = compressorFor(std::clamp(window_bits, 8, 15));
  if (z == nullptr || deflateReset(z) != Z_OK) return false;
  out.clear();
  z->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data));
  z->avail_in = static_cast<uInt>(size);
  size_t bound = deflateBound(z, static_cast<uLong>(size)) + 16;
  while (true) {
    size_t old_size = out.size();
    size_t chunk = std::max<size_t>(bound, 256);
    out.resize(old_size + chunk);
    z->next_out = reinterpret_cast<Bytef*>(out.data() + old_size);
    z->avail_out = static_cast<uInt>(chunk);
    int rc = ::deflate(z, Z_SYNC_FLUSH);
    out.resize(old_size + chunk - z->avail_out);
    if (rc != Z_OK && rc != Z_BUF_ERROR) return false;
    if (z->avail_in == 0 && z->avail_out != 0) break;
  }
  // A sync flush ends with an empty stored block, 00 00 ff ff: the receiver adds it back.
  if (out.size() < 4 || std::memcmp(out.data() + out.size() - 4, kTail, 4) != 0) return false;
  out.resize(out.size() - 4);
  return true;
}

}  // namespace asgid::ws
