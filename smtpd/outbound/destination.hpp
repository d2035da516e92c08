#pragma once
// Which addresses the queue runner may connect to. MX and A records are chosen by whoever
// runs the recipient's DNS, and any user (or a bounce to a forged sender) picks the
// recipient: without this, port-25 connections could be aimed at this host, at hosts inside
// its network, or at anything else that trusts where it is reached from. So loopback,
// private (RFC 1918, RFC 4193, RFC 6598), link-local, multicast, unspecified, reserved and
// the server's own addresses are refused by default; outbound.allowed_destinations lets test
// setups and internal mail hosts through. Pure, apart from own_addresses().

#include <optional>
#include <string_view>
#include <vector>

#include "common/config/cidr.hpp"
#include "common/net/asio.hpp"

namespace mailstead::outbound {

struct DestinationPolicy {
  std::vector<config::Cidr> allowed;        // exempt from every rule below
  std::vector<net::asio::ip::address> own;  // this machine's addresses
};

// Why mail must not be sent to `address` ("loopback", "private", ...), or nullopt.
std::optional<std::string_view> refused_destination(const net::asio::ip::address& address,
                                                    const DestinationPolicy& policy);

// The addresses of this machine's interfaces (getifaddrs).
std::vector<net::asio::ip::address> own_addresses();

}  // namespace mailstead::outbound
