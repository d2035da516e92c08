#include "storage/send_limits.hpp"

#include <gtest/gtest.h>

#include "storage/testing.hpp"
#include "storage_fixture.hpp"

namespace mailstead::storage {
namespace {

using testing::ok;

class SendLimitsTest : public testing::StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    ok(store().update([](WriteTxn& t) { return add_domain(t, "example.test"); }));
    user_ = ok(store().update([](WriteTxn& t) { return add_user(t, "alice@example.test", "h", {}); })).id;
  }
  SendDecision send(std::int64_t now, SendLimits limits, bool hold, std::uint32_t recipients = 1) {
    SendDecision d;
    ok(store().update([&](WriteTxn& t) {
      d = count_sent_message(t, user_, now, recipients, limits, hold);
      return Result<void>{};
    }));
    return d;
  }
  UserId user_ = 0;
};

TEST_F(SendLimitsTest, NoLimitsCountNothing) {
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(send(1000, {}, true).over_limit);
}

TEST_F(SendLimitsTest, HoldSchedulesTheBacklogOneWindowAfterAnother) {
  SendLimits limits{3, 0};
  const std::int64_t t0 = 1'000'000;
  for (int i = 0; i < 3; ++i) EXPECT_EQ(send(t0 + i, limits, true).not_before, 0);
  auto fourth = send(t0 + 10, limits, true);
  EXPECT_TRUE(fourth.over_limit);
  EXPECT_EQ(fourth.not_before, t0 + 3600);  // the next hour's window, which starts at t0 + 3600
  EXPECT_EQ(send(t0 + 11, limits, true).not_before, t0 + 3600);
  EXPECT_EQ(send(t0 + 12, limits, true).not_before, t0 + 3600);
  EXPECT_EQ(send(t0 + 13, limits, true).not_before, t0 + 7200);  // that one is full too
  // An hour later the first window's three have gone; the backlog keeps its place.
  EXPECT_EQ(send(t0 + 3700, limits, true).not_before, t0 + 7200);
  EXPECT_EQ(send(t0 + 3701, limits, true).not_before, t0 + 7200);
  EXPECT_EQ(send(t0 + 3702, limits, true).not_before, t0 + 10800);
  // Long after, everything has gone: a fresh window.
  EXPECT_EQ(send(t0 + 100000, limits, true).not_before, 0);
}

TEST_F(SendLimitsTest, RefuseDoesNotCountTheRefusedAndSaysWhenToComeBack) {
  SendLimits limits{2, 3};
  const std::int64_t t0 = 2'000'000;
  EXPECT_FALSE(send(t0, limits, false).over_limit);
  EXPECT_FALSE(send(t0 + 1, limits, false).over_limit);
  auto refused = send(t0 + 2, limits, false);
  EXPECT_TRUE(refused.over_limit);
  EXPECT_EQ(refused.reopens_at, t0 + 3600);
  EXPECT_TRUE(send(t0 + 3, limits, false).over_limit);      // still refused: nothing was counted
  EXPECT_FALSE(send(t0 + 3600, limits, false).over_limit);  // a new hour: the third of the day
  auto daily = send(t0 + 3601, limits, false);
  EXPECT_TRUE(daily.over_limit);  // the day's three are used
  EXPECT_EQ(daily.reopens_at, t0 + 86400);
}

// Found: limits counted messages only, so 200 messages an hour could reach 20,000 recipients.
TEST_F(SendLimitsTest, RecipientsCountAsWellAsMessages) {
  SendLimits limits{100, 0, 250, 0};
  const std::int64_t t0 = 3'000'000;
  EXPECT_FALSE(send(t0, limits, false, 100).over_limit);
  EXPECT_FALSE(send(t0 + 1, limits, false, 100).over_limit);
  auto third = send(t0 + 2, limits, false, 100);  // 300 recipients > 250
  EXPECT_TRUE(third.refused);
  EXPECT_EQ(third.reopens_at, t0 + 3600);
  EXPECT_FALSE(send(t0 + 3, limits, false, 50).over_limit);  // 250 exactly
  // One message to more recipients than an hour allows still goes, alone in a fresh window.
  EXPECT_FALSE(send(t0 + 100000, limits, false, 400).over_limit);
  EXPECT_TRUE(send(t0 + 100001, limits, false, 1).refused);
}

TEST_F(SendLimitsTest, HeldMailIsCappedByHowLongItWouldWait) {
  SendLimits limits{2, 0, 0, 0, 3 * 3600};
  const std::int64_t t0 = 4'000'000;
  int held = 0, refused = 0;
  for (int i = 0; i < 20; ++i) {
    auto d = send(t0 + i, limits, true);
    held += d.over_limit && !d.refused;
    refused += d.refused;
    if (d.refused) {
      EXPECT_GT(d.reopens_at - (t0 + i), 3 * 3600);
    }
  }
  EXPECT_EQ(held, 6);  // the next three hours' room, two an hour
  EXPECT_EQ(refused, 12);
}

TEST_F(SendLimitsTest, CountsOfTheFirstFormatAreRead) {
  // Format 1 held the two message windows; they go on counting, the recipient ones start empty.
  ok(store().update([&](WriteTxn& t) {
    testing::put_send_counts_format_1(t, user_, 5'000'000, 2, 5'000'000, 2);
    return Result<void>{};
  }));
  auto d = send(5'000'010, SendLimits{2, 0, 10, 0}, false);
  EXPECT_TRUE(d.refused);
  EXPECT_EQ(d.reopens_at, 5'003'600);
}

}  // namespace
}  // namespace mailstead::storage
