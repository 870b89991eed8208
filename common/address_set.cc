#include "common/address_set.h"

#include <arpa/inet.h>

#include <charconv>
#include <stdexcept>

namespace asgid {
namespace {

constexpr uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

std::string_view trim(std::string_view text) {
  size_t begin = text.find_first_not_of(" \t");
  if (begin == std::string_view::npos) return {};
  return text.substr(begin, text.find_last_not_of(" \t") - begin + 1);
}

std::invalid_argument badEntry(std::string_view entry, std::string_view why) {
  return std::invalid_argument("'" + std::string(entry) + "' " + std::string(why));
}

}  // namespace

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  // INET6_ADDRSTRLEN is 46 with the NUL; anything longer is not an address.
  if (text.empty() || text.size() > 45) return std::nullopt;
  char buffer[46];
  text.copy(buffer, text.size());
  buffer[text.size()] = '\0';
  IpAddress address;
  if (text.find(':') == std::string_view::npos) {
    if (inet_pton(AF_INET, buffer, address.bytes.data()) != 1) return std::nullopt;
    address.v4 = true;
    return address;
  }
  if (inet_pton(AF_INET6, buffer, address.bytes.data()) != 1) return std::nullopt;
  if (std::equal(kMappedPrefix, kMappedPrefix + 12, address.bytes.begin())) {
    std::array<uint8_t, 16> v4{};
    std::copy(address.bytes.begin() + 12, address.bytes.end(), v4.begin());
    address.bytes = v4;
    address.v4 = true;
  }
  return address;
}

AddressSet AddressSet::parse(std::string_view text) {
  AddressSet set;
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view entry = trim(text.substr(0, comma));
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    if (entry.empty()) continue;
    if (entry == "*") {
      set.any_ = true;
      continue;
    }
    if (entry == "unix") {
      set.unix_ = true;
      continue;
    }
    size_t slash = entry.find('/');
    std::string_view host = entry.substr(0, slash);
    std::optional<IpAddress> address = IpAddress::parse(host);
    if (!address) {
      throw badEntry(entry, "is not an IP address, a network (10.0.0.0/8), '*' or 'unix'");
    }
    bool mapped = address->v4 && host.find(':') != std::string_view::npos;
    Network network{*address, address->v4 ? 32 : 128};
    if (slash != std::string_view::npos) {
      std::string_view digits = entry.substr(slash + 1);
      int prefix = -1;
      auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
      // An IPv4-mapped network ("::ffff:10.0.0.0/104") counts its prefix over 128 bits.
      int max = address->v4 && !mapped ? 32 : 128;
      if (digits.empty() || error != std::errc() || end != digits.data() + digits.size() ||
          prefix < 0 || prefix > max) {
        throw badEntry(entry, "has a prefix length that is not 0.." + std::to_string(max));
      }
      if (address->v4 && mapped) {
        if (prefix < 96)
          throw badEntry(entry, "reaches past the IPv4-mapped range (::ffff:0:0/96)");
        prefix -= 96;
      }
      network.prefix = prefix;
      Network zeroed = network;
      for (int bit = prefix; bit < (address->v4 ? 32 : 128); ++bit) {
        zeroed.address.bytes[bit / 8] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
      }
      if (!(zeroed.address == network.address)) {
        throw badEntry(entry, "has bits set past its prefix length");
      }
    }
    set.networks_.push_back(network);
  }
  return set;
}

bool AddressSet::inNetwork(const IpAddress& address, const Network& network) {
  if (address.v4 != network.address.v4) return false;
  int full = network.prefix / 8;
  for (int i = 0; i < full; ++i) {
    if (address.bytes[i] != network.address.bytes[i]) return false;
  }
  int rest = network.prefix % 8;
  if (rest == 0) return true;
  auto mask = static_cast<uint8_t>(0xff00u >> rest);
  return (address.bytes[full] & mask) == network.address.bytes[full];
}

bool AddressSet::contains(const IpAddress& address) const {
  if (any_) return true;
  for (const Network& network : networks_) {
    if (inNetwork(address, network)) return true;
  }
  return false;
}

bool AddressSet::contains(std::string_view address) const {
  if (any_) return true;
  if (networks_.empty()) return false;
  std::optional<IpAddress> parsed = IpAddress::parse(address);
  return parsed && contains(*parsed);
}

}  // namespace asgid
