// The Sender Rewriting Scheme (common/srs): addresses made, reversed, and refused when forged,
// changed or too old; SRS1 for mail forwarded twice.

#include "common/srs/srs.hpp"

#include <gtest/gtest.h>

#include "common/text/ascii.hpp"

namespace mailstead::srs {
namespace {

constexpr std::string_view kSecret = "a secret of the forwarding server";
constexpr std::int64_t kNow = 1796592000;  // 2026-12-06
constexpr std::int64_t kDay = 86400;

std::string local_of(const std::string& address) {
  return address.substr(0, address.rfind('@'));
}

TEST(Srs, ForwardedSenderIsAnSrs0AddressOfTheForwarder) {
  auto a = forward("joe@example.org", "forwarder.example", kSecret, kNow);
  ASSERT_TRUE(a);
  // SRS0=HHHHHH=TT=example.org=joe@forwarder.example
  ASSERT_TRUE(a->starts_with("SRS0=")) << *a;
  EXPECT_TRUE(a->ends_with("=example.org=joe@forwarder.example")) << *a;
  EXPECT_EQ(a->size(), std::string("SRS0=HHHHHH=TT=example.org=joe@forwarder.example").size());
  EXPECT_TRUE(is_srs(local_of(*a)));
}

TEST(Srs, ReversesToTheOriginalSender) {
  auto a = *forward("Joe.Bloggs@Example.org", "forwarder.example", kSecret, kNow);
  auto back = reverse(local_of(a), kSecret, kNow + kDay, 21);
  ASSERT_TRUE(std::holds_alternative<std::string>(back));
  EXPECT_EQ(std::get<std::string>(back), "Joe.Bloggs@Example.org");
  // An MTA that lower-cases the bounce address does not break it.
  auto lowered = reverse(text::lower_ascii(local_of(a)), kSecret, kNow, 21);
  ASSERT_TRUE(std::holds_alternative<std::string>(lowered));
  EXPECT_EQ(std::get<std::string>(lowered), "joe.bloggs@example.org");
}

TEST(Srs, ForgedOrChangedAddressesAreRefused) {
  auto local = local_of(*forward("joe@example.org", "forwarder.example", kSecret, kNow));
  EXPECT_EQ(std::get<Error>(reverse(local, "another secret", kNow, 21)), Error::bad_hash);
  auto other_target = local;
  other_target.replace(other_target.rfind("joe"), 3, "eve");  // someone else as the target
  EXPECT_EQ(std::get<Error>(reverse(other_target, kSecret, kNow, 21)), Error::bad_hash);
  EXPECT_EQ(std::get<Error>(reverse("SRS0=AAAAAA=AB=victim.example=eve", kSecret, kNow, 21)), Error::bad_hash);
}

TEST(Srs, OldAddressesExpire) {
  auto local = local_of(*forward("joe@example.org", "forwarder.example", kSecret, kNow));
  EXPECT_TRUE(std::holds_alternative<std::string>(reverse(local, kSecret, kNow + 21 * kDay, 21)));
  EXPECT_EQ(std::get<Error>(reverse(local, kSecret, kNow + 22 * kDay, 21)), Error::expired);
  // The day counter wraps at 1024 days: the age is still counted right across the wrap.
  auto near_wrap = kNow - (kNow / kDay % 1024) * kDay + 1023 * kDay;
  auto wrapped = local_of(*forward("joe@example.org", "f.example", kSecret, near_wrap));
  EXPECT_TRUE(std::holds_alternative<std::string>(reverse(wrapped, kSecret, near_wrap + 2 * kDay, 21)));
}

TEST(Srs, MalformedAddresses) {
  for (auto bad : {"joe", "SRS0=", "SRS0=abc", "SRS0=AAAAAA=TT", "SRS0=AAAAAA=T!=example.org=joe",
                   "SRS0=AAAAAA=AB==joe", "SRS0=AAAAAA=AB=example.org=", "SRS0=AAA=AB=example.org=joe", "SRS1=AAAAAA",
                   "SRS1=AAAAAA=first.example=", "SRS2=AAAAAA=AB=example.org=joe"})
    EXPECT_EQ(std::get<Error>(reverse(bad, kSecret, kNow, 21)), Error::malformed) << bad;
  EXPECT_FALSE(is_srs("srs0"));
  EXPECT_TRUE(is_srs("srs0+x"));
  EXPECT_TRUE(is_srs("SRS1-x"));
}

TEST(Srs, ForwardedTwiceBecomesSrs1AndUnwindsInTurn) {
  constexpr std::string_view kFirstSecret = "the first forwarder's secret";
  auto first = *forward("joe@example.org", "first.example", kFirstSecret, kNow);
  auto second = forward(first, "second.example", kSecret, kNow);
  ASSERT_TRUE(second);
  EXPECT_TRUE(second->starts_with("SRS1=")) << *second;
  EXPECT_NE(second->find("=first.example=="), std::string::npos) << *second;
  EXPECT_TRUE(second->ends_with("@second.example"));
  // We send the bounce back to the first forwarder's SRS0 address, which it reverses.
  auto back = reverse(local_of(*second), kSecret, kNow, 21);
  ASSERT_TRUE(std::holds_alternative<std::string>(back));
  EXPECT_EQ(std::get<std::string>(back), first);
  EXPECT_EQ(std::get<std::string>(reverse(local_of(first), kFirstSecret, kNow, 21)), "joe@example.org");
  // Forwarded a third time: still SRS1 with the first forwarder, hashed by the third.
  auto third = *forward(*second, "third.example", "third secret", kNow);
  EXPECT_TRUE(third.starts_with("SRS1=")) << third;
  EXPECT_EQ(std::get<std::string>(reverse(local_of(third), "third secret", kNow, 21)), first);
  // A forged SRS1 is refused.
  auto forged = local_of(*second);
  forged[5] = forged[5] == '0' ? '1' : '0';  // a digit: the hash is compared without case
  EXPECT_EQ(std::get<Error>(reverse(forged, kSecret, kNow, 21)), Error::bad_hash);
}

TEST(Srs, AddressesTooLongToRewriteAreLeftAlone) {
  auto sender = std::string(230, 'a') + "@example.org";
  EXPECT_FALSE(forward(sender, "forwarder.example", kSecret, kNow));
  EXPECT_FALSE(forward("no-at-sign", "forwarder.example", kSecret, kNow));
}

}  // namespace
}  // namespace mailstead::srs
