#include "storage/auth_failures.hpp"

#include <gtest/gtest.h>

#include "storage_fixture.hpp"

namespace mailstead::storage {
namespace {

using std::chrono::seconds;

class AuthFailuresTest : public testing::StoreTest {
 protected:
  AuthFailures fail(std::string_view client, std::int64_t now) {
    auto txn = store().write();
    auto f = record_auth_failure(txn, client, now, policy_);
    txn.commit();
    return f;
  }
  LockoutPolicy policy_{3, 600, 900};
};

TEST_F(AuthFailuresTest, CountsWithinTheWindowAndLocks) {
  EXPECT_EQ(auth_failures(store().read(), "192.0.2.7", 1000).count, 0u);
  EXPECT_EQ(fail("192.0.2.7", 1000).count, 1u);
  EXPECT_EQ(fail("192.0.2.7", 1100).locked_until, 0);
  auto third = fail("192.0.2.7", 1200);
  EXPECT_EQ(third.count, 3u);
  EXPECT_EQ(third.locked_until, 1200 + 900);
  EXPECT_EQ(auth_failures(store().read(), "192.0.2.7", 2000).locked_until, 2100);
  EXPECT_EQ(auth_failures(store().read(), "192.0.2.7", 2100).locked_until, 0);  // expired
  EXPECT_EQ(auth_failures(store().read(), "192.0.2.8", 1200).count, 0u);        // others untouched
}

TEST_F(AuthFailuresTest, ANewWindowStartsOver) {
  fail("2001:db8::/64", 1000);
  fail("2001:db8::/64", 1500);
  auto later = fail("2001:db8::/64", 1000 + 600);
  EXPECT_EQ(later.count, 1u);
  EXPECT_EQ(later.locked_until, 0);
}

TEST_F(AuthFailuresTest, ZeroMeansNeverLock) {
  policy_.failures = 0;
  for (int i = 0; i < 50; ++i) EXPECT_EQ(fail("192.0.2.9", 1000 + i).locked_until, 0);
}

TEST(FailureDelay, DoublesUpToTheMaximum) {
  EXPECT_EQ(failure_delay(0, seconds(2), seconds(30)), seconds(0));
  EXPECT_EQ(failure_delay(1, seconds(2), seconds(30)), seconds(2));
  EXPECT_EQ(failure_delay(2, seconds(2), seconds(30)), seconds(4));
  EXPECT_EQ(failure_delay(4, seconds(2), seconds(30)), seconds(16));
  EXPECT_EQ(failure_delay(5, seconds(2), seconds(30)), seconds(30));
  EXPECT_EQ(failure_delay(1000000, seconds(2), seconds(30)), seconds(30));
  EXPECT_EQ(failure_delay(3, seconds(0), seconds(30)), seconds(0));
}

}  // namespace
}  // namespace mailstead::storage
