#include <gtest/gtest.h>

#include "smtpd/outbound/destination.hpp"

namespace mailstead::outbound {
namespace {

namespace ip = net::asio::ip;

std::string refusal(std::string_view address, const DestinationPolicy& policy = {}) {
  auto why = refused_destination(ip::make_address(address), policy);
  return why ? std::string(*why) : "";
}

TEST(OutboundDestination, RefusesWhatIsNotAnInternetMailServer) {
  EXPECT_EQ(refusal("127.0.0.1"), "loopback");
  EXPECT_EQ(refusal("127.255.1.2"), "loopback");
  EXPECT_EQ(refusal("::1"), "loopback");
  EXPECT_EQ(refusal("::ffff:127.0.0.1"), "loopback");  // IPv4-mapped compares as IPv4
  EXPECT_EQ(refusal("10.0.0.5"), "private");
  EXPECT_EQ(refusal("172.16.0.1"), "private");
  EXPECT_EQ(refusal("172.31.255.255"), "private");
  EXPECT_EQ(refusal("192.168.1.1"), "private");
  EXPECT_EQ(refusal("100.64.0.1"), "private");
  EXPECT_EQ(refusal("fd00::1"), "private");
  EXPECT_EQ(refusal("169.254.169.254"), "link-local");  // cloud metadata services live here
  EXPECT_EQ(refusal("fe80::1"), "link-local");
  EXPECT_EQ(refusal("224.0.0.1"), "multicast");
  EXPECT_EQ(refusal("ff02::1"), "multicast");
  EXPECT_EQ(refusal("0.0.0.0"), "unspecified");
  EXPECT_EQ(refusal("::"), "unspecified");
  EXPECT_EQ(refusal("255.255.255.255"), "reserved");
}

TEST(OutboundDestination, PublicAddressesPass) {
  for (auto a : {"192.0.2.1", "8.8.8.8", "172.32.0.1", "100.128.0.1", "2a00:1450:4001::1", "::ffff:8.8.8.8"})
    EXPECT_EQ(refusal(a), "") << a;
}

TEST(OutboundDestination, TheAllowListAndOwnAddresses) {
  DestinationPolicy policy;
  policy.allowed.push_back(*config::parse_cidr("10.1.0.0/16"));
  policy.own.push_back(ip::make_address("203.0.113.7"));
  EXPECT_EQ(refusal("10.1.2.3", policy), "");
  EXPECT_EQ(refusal("10.2.0.1", policy), "private");
  EXPECT_EQ(refusal("203.0.113.7", policy), "this server's own");
  EXPECT_EQ(refusal("::ffff:203.0.113.7", policy), "this server's own");
  EXPECT_EQ(refusal("203.0.113.8", policy), "");
}

TEST(OutboundDestination, OwnAddressesIncludeLoopback) {
  auto own = own_addresses();
  EXPECT_NE(std::find(own.begin(), own.end(), ip::make_address("127.0.0.1")), own.end());
}

}  // namespace
}  // namespace mailstead::outbound
