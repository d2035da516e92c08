#include "common/net/connection_limiter.hpp"

#include <gtest/gtest.h>

namespace mailstead::net {
namespace {

asio::ip::address ip(const char* text) {
  return asio::ip::make_address(text);
}

bool admitted(const std::variant<ConnectionLimiter::Permit, Refusal>& v) {
  return std::holds_alternative<ConnectionLimiter::Permit>(v);
}

TEST(ConnectionLimiter, PerClientLimit) {
  auto limiter = std::make_shared<ConnectionLimiter>(0, 2);
  auto a = limiter->try_admit(ip("192.0.2.1"));
  auto b = limiter->try_admit(ip("192.0.2.1"));
  auto c = limiter->try_admit(ip("192.0.2.1"));
  EXPECT_TRUE(admitted(a));
  EXPECT_TRUE(admitted(b));
  ASSERT_FALSE(admitted(c));
  EXPECT_EQ(std::get<Refusal>(c), Refusal::too_many_from_client);
  EXPECT_TRUE(admitted(limiter->try_admit(ip("192.0.2.2"))));  // another client is not affected
  EXPECT_EQ(limiter->active(), 2u);                            // the temporary permit went away
}

TEST(ConnectionLimiter, ReleasingAPermitFreesItsSlot) {
  auto limiter = std::make_shared<ConnectionLimiter>(0, 1);
  {
    auto a = limiter->try_admit(ip("192.0.2.1"));
    EXPECT_TRUE(admitted(a));
    EXPECT_FALSE(admitted(limiter->try_admit(ip("192.0.2.1"))));
  }
  EXPECT_EQ(limiter->active(), 0u);
  EXPECT_TRUE(admitted(limiter->try_admit(ip("192.0.2.1"))));
}

TEST(ConnectionLimiter, TotalLimit) {
  auto limiter = std::make_shared<ConnectionLimiter>(2, 0);
  auto a = limiter->try_admit(ip("192.0.2.1"));
  auto b = limiter->try_admit(ip("192.0.2.2"));
  auto c = limiter->try_admit(ip("192.0.2.3"));
  ASSERT_FALSE(admitted(c));
  EXPECT_EQ(std::get<Refusal>(c), Refusal::too_many_connections);
}

TEST(ConnectionLimiter, ZeroMeansUnlimited) {
  auto limiter = std::make_shared<ConnectionLimiter>(0, 0);
  std::vector<std::variant<ConnectionLimiter::Permit, Refusal>> held;
  for (int i = 0; i < 1000; ++i) held.push_back(limiter->try_admit(ip("192.0.2.1")));
  for (auto& h : held) EXPECT_TRUE(admitted(h));
  EXPECT_EQ(limiter->active(), 1000u);
}

TEST(ConnectionLimiter, NewConnectionsPerMinute) {
  auto limiter = std::make_shared<ConnectionLimiter>(0, 0, 3);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(admitted(limiter->try_admit(ip("192.0.2.1"), 1000 + i)));
  auto fourth = limiter->try_admit(ip("192.0.2.1"), 1010);
  ASSERT_FALSE(admitted(fourth));
  EXPECT_EQ(std::get<Refusal>(fourth), Refusal::too_fast_from_client);
  EXPECT_TRUE(admitted(limiter->try_admit(ip("192.0.2.2"), 1010)));  // per client
  EXPECT_TRUE(admitted(limiter->try_admit(ip("192.0.2.1"), 1060)));  // a new minute
  EXPECT_EQ(to_string(Refusal::too_fast_from_client), "too_fast_from_client");
}

TEST(ConnectionLimiter, Ipv6CountsPerSlash64) {
  EXPECT_EQ(ConnectionLimiter::client_key(ip("2001:db8:1:2:aaaa::1")), "2001:db8:1:2::/64");
  EXPECT_EQ(ConnectionLimiter::client_key(ip("2001:db8:1:2:bbbb::9")), "2001:db8:1:2::/64");
  EXPECT_EQ(ConnectionLimiter::client_key(ip("::ffff:192.0.2.7")), "192.0.2.7");
  auto limiter = std::make_shared<ConnectionLimiter>(0, 1);
  auto a = limiter->try_admit(ip("2001:db8:1:2::1"));
  EXPECT_FALSE(admitted(limiter->try_admit(ip("2001:db8:1:2::2"))));
  EXPECT_TRUE(admitted(limiter->try_admit(ip("2001:db8:1:3::1"))));
}

}  // namespace
}  // namespace mailstead::net
