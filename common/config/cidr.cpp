#include "common/config/cidr.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>
#include <string>

namespace mailstead::config {

std::optional<Cidr> parse_cidr(std::string_view text) {
  auto slash = text.find('/');
  std::string address(text.substr(0, slash));
  Cidr cidr;
  if (inet_pton(AF_INET, address.c_str(), cidr.bytes.data()) == 1) {
    cidr.v4 = true;
    cidr.prefix = 32;
  } else if (inet_pton(AF_INET6, address.c_str(), cidr.bytes.data()) == 1) {
    cidr.v4 = false;
    cidr.prefix = 128;
  } else {
    return std::nullopt;
  }
  if (slash != std::string_view::npos) {
    auto bits = text.substr(slash + 1);
    int prefix = -1;
    auto [end, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), prefix);
    if (ec != std::errc{} || end != bits.data() + bits.size() || prefix < 0 || prefix > cidr.prefix)
      return std::nullopt;
    cidr.prefix = prefix;
  }
  return cidr;
}

bool cidr_contains(const Cidr& network, const std::uint8_t* address, std::size_t length) {
  static constexpr std::uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (network.v4 && length == 16 && std::memcmp(address, kMapped, 12) == 0) {
    address += 12;
    length = 4;
  }
  if ((network.v4 ? 4u : 16u) != length) return false;
  int bits = network.prefix;
  for (std::size_t i = 0; bits > 0; ++i, bits -= 8) {
    std::uint8_t mask = bits >= 8 ? 0xff : static_cast<std::uint8_t>(0xff << (8 - bits));
    if ((address[i] & mask) != (network.bytes[i] & mask)) return false;
  }
  return true;
}

}  // namespace mailstead::config
