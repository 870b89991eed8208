// Principle: --forwarded-allow-ips as a value: which peers may speak for a client (proxy
// headers, the PROXY protocol). Parsed once, when the settings are read, so a bad entry is a
// configuration error naming it; matching is a few integer comparisons on the 16 bytes of an
// address, with no allocation.
//
// IPv4 and IPv6 are kept apart (0.0.0.0/0 is every IPv4 peer, ::/0 every IPv6 one) except for
// IPv4-mapped IPv6 addresses (::ffff:a.b.c.d), which are the IPv4 address they carry, in the
// list and in a peer alike: a dual-stack listener reports IPv4 clients that way.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace asgid {

// A numeric address: IPv4 (the first 4 bytes used) or IPv6.
struct IpAddress {
  bool v4 = false;
  std::array<uint8_t, 16> bytes{};

  // "10.0.0.1", "::1", "::ffff:10.0.0.1" (taken as IPv4), without brackets, zone or port.
  static std::optional<IpAddress> parse(std::string_view text);
  bool operator==(const IpAddress&) const = default;
};

class AddressSet {
 public:
  // A comma-separated list of IPv4 and IPv6 addresses, CIDR networks ("10.0.0.0/8",
  // "fd00::/8"), "*" (everyone) and "unix" (peers on a Unix socket); spaces around entries and
  // empty entries are ignored. Throws std::invalid_argument naming the first bad entry.
  static AddressSet parse(std::string_view text);

  // Whether a peer with this numeric address (as accept() reports it) is in the set.
  bool contains(const IpAddress& address) const;
  bool contains(std::string_view address) const;
  // Whether a peer on a Unix socket is.
  bool containsUnix() const { return any_ || unix_; }
  bool empty() const { return !any_ && !unix_ && networks_.empty(); }

 private:
  struct Network {
    IpAddress address;  // host bits zero
    int prefix = 0;     // 0..32 for IPv4, 0..128 for IPv6
  };
  static bool inNetwork(const IpAddress& address, const Network& network);

  std::vector<Network> networks_;
  bool any_ = false;
  bool unix_ = false;
};

}  // namespace asgid
