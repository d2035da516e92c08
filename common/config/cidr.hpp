#pragma once
// Networks written as CIDR ("192.0.2.0/24", "2001:db8::/32", or one address), for settings
// such as smtpd.trusted_networks. Pure; IPv4-mapped IPv6 addresses match IPv4 networks.

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace mailstead::config {

struct Cidr {
  std::array<std::uint8_t, 16> bytes{};  // IPv4 in the first 4
  int prefix = 0;                        // bits
  bool v4 = true;
};

std::optional<Cidr> parse_cidr(std::string_view text);
// `address` is 4 bytes (IPv4) or 16 (IPv6), network byte order.
bool cidr_contains(const Cidr& network, const std::uint8_t* address, std::size_t length);

}  // namespace mailstead::config
