#include <gtest/gtest.h>

#include <set>

#include "smtpd/outbound/route.hpp"

namespace mailstead::outbound {
namespace {

dns::MxAnswer answer(std::vector<dns::MxRecord> records) {
  return {dns::Status::ok, std::move(records), ""};
}

TEST(OutboundRoute, PreferenceOrderWithEqualPreferencesShuffled) {
  std::mt19937_64 rng(1);
  std::set<std::string> seen_first;
  for (int i = 0; i < 50; ++i) {
    auto route = plan_route(
        "example.org",
        answer({{20, "c.example.org"}, {10, "a.example.org"}, {10, "b.example.org"}, {30, "d.example.org"}}), rng);
    ASSERT_EQ(route.kind, RouteKind::hosts);
    ASSERT_EQ(route.hosts.size(), 4u);
    seen_first.insert(route.hosts[0]);
    EXPECT_EQ(route.hosts[2], "c.example.org");
    EXPECT_EQ(route.hosts[3], "d.example.org");
  }
  EXPECT_EQ(seen_first, (std::set<std::string>{"a.example.org", "b.example.org"}));  // both get their turn
}

TEST(OutboundRoute, ImplicitMxNullMxAndFailures) {
  std::mt19937_64 rng(1);
  auto implicit = plan_route("example.org", {dns::Status::no_data, {}, ""}, rng);
  EXPECT_EQ(implicit.kind, RouteKind::hosts);
  EXPECT_EQ(implicit.hosts, (std::vector<std::string>{"example.org"}));
  EXPECT_EQ(plan_route("example.org", answer({{0, ""}}), rng).kind, RouteKind::null_mx);
  EXPECT_EQ(plan_route("nope.example", {dns::Status::nxdomain, {}, "Domain name not found"}, rng).kind,
            RouteKind::no_such_domain);
  auto temporary = plan_route("example.org", {dns::Status::temporary, {}, "Server failure"}, rng);
  EXPECT_EQ(temporary.kind, RouteKind::temporary);
  EXPECT_NE(temporary.reason.find("Server failure"), std::string::npos);
  // A "." beside real hosts is not a null MX (RFC 7505 §3): the real hosts are used.
  auto mixed = plan_route("example.org", answer({{0, ""}, {10, "mx.example.org"}}), rng);
  EXPECT_EQ(mixed.kind, RouteKind::hosts);
  EXPECT_EQ(mixed.hosts, (std::vector<std::string>{"mx.example.org"}));
  auto duplicates = plan_route("example.org", answer({{10, "mx.example.org"}, {20, "mx.example.org"}}), rng);
  EXPECT_EQ(duplicates.hosts, (std::vector<std::string>{"mx.example.org"}));
}

}  // namespace
}  // namespace mailstead::outbound
