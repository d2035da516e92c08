#include "storage/send_limits.hpp"

#include <gtest/gtest.h>

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
  SendDecision send(std::int64_t now, SendLimits limits, bool hold) {
    SendDecision d;
    ok(store().update([&](WriteTxn& t) {
      d = count_sent_message(t, user_, now, limits, hold);
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

}  // namespace
}  // namespace mailstead::storage
