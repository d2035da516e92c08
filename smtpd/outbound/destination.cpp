#include "smtpd/outbound/destination.hpp"

#include <ifaddrs.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <string>
#include <utility>

namespace mailstead::outbound {
namespace {

// Ranges that are never a mail server on the Internet, and what to call them in the queue.
constexpr std::array<std::pair<std::string_view, std::string_view>, 15> kRefused{{
    {"0.0.0.0/8", "unspecified"},
    {"127.0.0.0/8", "loopback"},
    {"10.0.0.0/8", "private"},  // RFC 1918
    {"172.16.0.0/12", "private"},
    {"192.168.0.0/16", "private"},
    {"100.64.0.0/10", "private"},  // RFC 6598 shared address space (carrier-grade NAT)
    {"169.254.0.0/16", "link-local"},
    {"224.0.0.0/4", "multicast"},
    {"240.0.0.0/4", "reserved"},  // and 255.255.255.255, broadcast
    {"::/128", "unspecified"},
    {"::1/128", "loopback"},
    {"fc00::/7", "private"},  // RFC 4193 unique local
    {"fe80::/10", "link-local"},
    {"ff00::/8", "multicast"},
    {"64:ff9b:1::/48", "private"},  // RFC 8215 local-use NAT64
}};

struct Bytes {
  std::array<std::uint8_t, 16> data{};
  std::size_t length = 0;
};

// IPv4-mapped IPv6 compares as the IPv4 address it carries (cidr_contains does so too).
Bytes bytes_of(const net::asio::ip::address& address) {
  Bytes b;
  if (address.is_v4() || (address.is_v6() && address.to_v6().is_v4_mapped())) {
    auto v4 =
        address.is_v4() ? address.to_v4() : net::asio::ip::make_address_v4(net::asio::ip::v4_mapped, address.to_v6());
    auto raw = v4.to_bytes();
    std::copy(raw.begin(), raw.end(), b.data.begin());
    b.length = 4;
  } else {
    auto raw = address.to_v6().to_bytes();
    std::copy(raw.begin(), raw.end(), b.data.begin());
    b.length = 16;
  }
  return b;
}

const std::vector<std::pair<config::Cidr, std::string_view>>& refused_ranges() {
  static const auto ranges = [] {
    std::vector<std::pair<config::Cidr, std::string_view>> out;
    for (const auto& [text, why] : kRefused) out.emplace_back(*config::parse_cidr(text), why);
    return out;
  }();
  return ranges;
}

net::asio::ip::address canonical(const net::asio::ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped()) return net::asio::ip::make_address_v4(net::asio::ip::v4_mapped, a.to_v6());
  return a;
}

}  // namespace

std::optional<std::string_view> refused_destination(const net::asio::ip::address& address,
                                                    const DestinationPolicy& policy) {
  auto b = bytes_of(address);
  for (const auto& network : policy.allowed)
    if (config::cidr_contains(network, b.data.data(), b.length)) return std::nullopt;
  for (const auto& [network, why] : refused_ranges())
    if (config::cidr_contains(network, b.data.data(), b.length)) return why;
  auto mine = canonical(address);
  for (const auto& own : policy.own)
    if (canonical(own) == mine) return "this server's own";
  return std::nullopt;
}

std::vector<net::asio::ip::address> own_addresses() {
  std::vector<net::asio::ip::address> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  for (auto* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr) continue;
    if (i->ifa_addr->sa_family == AF_INET) {
      sockaddr_in sin{};
      std::memcpy(&sin, i->ifa_addr, sizeof sin);
      net::asio::ip::address_v4::bytes_type raw{};
      std::memcpy(raw.data(), &sin.sin_addr, raw.size());
      out.emplace_back(net::asio::ip::address_v4(raw));
    } else if (i->ifa_addr->sa_family == AF_INET6) {
      sockaddr_in6 sin6{};
      std::memcpy(&sin6, i->ifa_addr, sizeof sin6);
      net::asio::ip::address_v6::bytes_type raw{};
      std::memcpy(raw.data(), &sin6.sin6_addr, raw.size());
      out.emplace_back(net::asio::ip::address_v6(raw));
    }
  }
  freeifaddrs(list);
  return out;
}

}  // namespace mailstead::outbound
