#include <gtest/gtest.h>

#include <vector>

#include "common/net/address.hpp"

namespace mailstead::net {
namespace {

std::vector<config::Cidr> networks(std::initializer_list<const char*> texts) {
  std::vector<config::Cidr> out;
  for (const auto* t : texts) out.push_back(*config::parse_cidr(t));
  return out;
}

TEST(NetAddress, MatchesIpv4AndIpv6Networks) {
  auto n = networks({"192.0.2.0/24", "2001:db8::/32"});
  EXPECT_TRUE(in_networks(asio::ip::make_address("192.0.2.77"), n));
  EXPECT_FALSE(in_networks(asio::ip::make_address("192.0.3.1"), n));
  EXPECT_TRUE(in_networks(asio::ip::make_address("2001:db8:1::5"), n));
  EXPECT_FALSE(in_networks(asio::ip::make_address("2001:db9::5"), n));
  EXPECT_FALSE(in_networks(asio::ip::make_address("192.0.2.1"), {}));
}

// A dual-stack listener reports IPv4 clients as ::ffff:a.b.c.d: they are still in IPv4 networks,
// and not in IPv6 networks (::/0 is every IPv6 client, not every client).
TEST(NetAddress, Ipv4MappedIsTheIpv4Address) {
  auto mapped = asio::ip::make_address("::ffff:192.0.2.9");
  EXPECT_EQ(canonical(mapped), asio::ip::make_address("192.0.2.9"));
  EXPECT_TRUE(in_networks(mapped, networks({"192.0.2.0/24"})));
  EXPECT_FALSE(in_networks(mapped, networks({"198.51.100.0/24"})));
  EXPECT_FALSE(in_networks(mapped, networks({"::/0"})));
  EXPECT_EQ(canonical(asio::ip::make_address("2001:db8::1")), asio::ip::make_address("2001:db8::1"));
}

TEST(NetAddress, FindNetworkReturnsTheFirstThatHolds) {
  auto n = networks({"10.0.0.0/8", "10.1.0.0/16"});
  const auto* hit = find_network(asio::ip::make_address("10.1.2.3"), n);
  ASSERT_NE(hit, nullptr);
  EXPECT_EQ(hit, n.data());
  EXPECT_EQ(find_network(asio::ip::make_address("11.0.0.1"), n), nullptr);
}

}  // namespace
}  // namespace mailstead::net
