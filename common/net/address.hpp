#pragma once
// Socket addresses against configured networks (smtpd.trusted_networks,
// outbound.allowed_destinations, ...). An IPv4-mapped IPv6 address (::ffff:192.0.2.1, as a
// dual-stack listener reports IPv4 clients) is the IPv4 address it carries, everywhere.

#include <span>

#include "common/config/cidr.hpp"
#include "common/net/asio.hpp"

namespace mailstead::net {

// `address`, with an IPv4-mapped IPv6 address turned into IPv4.
asio::ip::address canonical(const asio::ip::address& address);

// The first of `networks` that holds `address`, or null.
const config::Cidr* find_network(const asio::ip::address& address, std::span<const config::Cidr> networks);

inline bool in_networks(const asio::ip::address& address, std::span<const config::Cidr> networks) {
  return find_network(address, networks) != nullptr;
}

}  // namespace mailstead::net
