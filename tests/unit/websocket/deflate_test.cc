// permessage-deflate: what the server answers to offers (RFC 7692 7.1), the round trip through
// our compressor and inflater, and the bound on the inflated size.
#include "worker/websocket/deflate.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <string>

namespace asgid::ws {
namespace {

using Params = std::vector<std::pair<std::string, std::string>>;

TEST(DeflateNegotiationTest, AcceptsAPlainOfferWithoutContextTakeover) {
  DeflateAgreement agreement = negotiateDeflate({});
  ASSERT_TRUE(agreement.accepted);
  EXPECT_EQ(agreement.response,
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover");
  EXPECT_EQ(agreement.server_window_bits, 15);
}

TEST(DeflateNegotiationTest, HonoursServerMaxWindowBits) {
  DeflateAgreement agreement =
      negotiateDeflate(Params{{"server_max_window_bits", "10"}, {"client_max_window_bits", ""}});
  ASSERT_TRUE(agreement.accepted);
  EXPECT_EQ(agreement.server_window_bits, 10);
  EXPECT_NE(agreement.response.find("; server_max_window_bits=10"), std::string::npos);
  EXPECT_EQ(agreement.response.find("client_max_window_bits"), std::string::npos);
  EXPECT_EQ(negotiateDeflate(Params{{"server_max_window_bits", "8"}}).server_window_bits, 8);
}

TEST(DeflateNegotiationTest, DeclinesBadOffers) {
  for (const Params& params :
       {Params{{"server_max_window_bits", "7"}}, Params{{"server_max_window_bits", "16"}},
        Params{{"server_max_window_bits", "010"}}, Params{{"server_max_window_bits", ""}},
        Params{{"client_max_window_bits", "x"}}, Params{{"server_no_context_takeover", "1"}},
        Params{{"client_no_context_takeover", ""}, {"client_no_context_takeover", ""}},
        Params{{"mystery", ""}}}) {
    EXPECT_FALSE(negotiateDeflate(params).accepted) << params[0].first << "=" << params[0].second;
  }
}

std::string roundTrip(const std::string& message, int bits, size_t limit, InflateStatus& status) {
  std::string compressed;
  EXPECT_TRUE(deflateMessage(message.data(), message.size(), bits, compressed));
  compressed += std::string("\x00\x00\xff\xff", 4);
  Inflater inflater;
  std::string out;
  // In two pieces, as frames or reads may split it.
  size_t half = compressed.size() / 2;
  auto* bytes = reinterpret_cast<const uint8_t*>(compressed.data());
  status = inflater.inflate(bytes, half, out, limit);
  if (status == InflateStatus::kOk) {
    status = inflater.inflate(bytes + half, compressed.size() - half, out, limit);
  }
  inflater.endMessage();
  EXPECT_FALSE(inflater.active());
  return out;
}

TEST(DeflateTest, RoundTripsAtEveryWindowSize) {
  std::string message;
  for (int i = 0; i < 2000; ++i) message += "message " + std::to_string(i % 37) + ";";
  for (int bits = 8; bits <= 15; ++bits) {
    InflateStatus status;
    EXPECT_EQ(roundTrip(message, bits, 1 << 20, status), message) << bits;
    EXPECT_EQ(status, InflateStatus::kOk);
  }
}

TEST(DeflateTest, EightBitWindowUsesNoBackReferences) {
  std::string message(4096, 'a');
  std::string compressed;
  ASSERT_TRUE(deflateMessage(message.data(), message.size(), 8, compressed));
  compressed += std::string("\x00\x00\xff\xff", 4);
  // An inflater with an 8-bit window would fail on any distance beyond 256 bytes; Huffman-only
  // output has no distances, so even a 9-bit raw inflater (zlib's smallest) must take it.
  z_stream z{};
  ASSERT_EQ(inflateInit2(&z, -9), Z_OK);
  std::string out(message.size() + 16, '\0');
  z.next_in = reinterpret_cast<Bytef*>(compressed.data());
  z.avail_in = static_cast<uInt>(compressed.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(inflate(&z, Z_SYNC_FLUSH), Z_OK);
  out.resize(out.size() - z.avail_out);
  inflateEnd(&z);
  EXPECT_EQ(out, message);
}

TEST(DeflateTest, StopsAtTheLimitInsteadOfInflatingABomb) {
  std::string bomb(8 << 20, '\0');  // 8 MiB of zeros compresses to a few KiB
  InflateStatus status;
  std::string out = roundTrip(bomb, 15, 64 * 1024, status);
  EXPECT_EQ(status, InflateStatus::kTooBig);
  EXPECT_LE(out.size(), 64 * 1024 + 1);
  std::string exact(1000, 'x');
  EXPECT_EQ(roundTrip(exact, 15, 1000, status), exact);
  EXPECT_EQ(status, InflateStatus::kOk);
}

TEST(DeflateTest, CorruptDataIsReported) {
  Inflater inflater;
  std::string out;
  const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0x00, 0x12};
  EXPECT_EQ(inflater.inflate(garbage, sizeof garbage, out, 1024), InflateStatus::kCorrupt);
}

}  // namespace
}  // namespace asgid::ws
