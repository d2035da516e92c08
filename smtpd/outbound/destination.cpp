#include "smtpd/outbound/destination.hpp"

#include <ifaddrs.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <string>
#include <utility>

#include "common/net/address.hpp"

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

struct RefusedRanges {
  std::vector<config::Cidr> networks;
  std::vector<std::string_view> names;  // names[i] is what networks[i] is called
};

const RefusedRanges& refused_ranges() {
  static const auto ranges = [] {
    RefusedRanges out;
    for (const auto& [text, why] : kRefused) {
      out.networks.push_back(*config::parse_cidr(text));
      out.names.push_back(why);
    }
    return out;
  }();
  return ranges;
}

}  // namespace

std::optional<std::string_view> refused_destination(const net::asio::ip::address& address,
                                                    const DestinationPolicy& policy) {
  if (net::in_networks(address, policy.allowed)) return std::nullopt;
  const auto& refused = refused_ranges();
  if (const auto* hit = net::find_network(address, refused.networks))
    return refused.names[static_cast<std::size_t>(hit - refused.networks.data())];
  auto mine = net::canonical(address);
  for (const auto& own : policy.own)
    if (net::canonical(own) == mine) return "this server's own";
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
