// Greylisting triplets in the store (storage/greylist.hpp): first sight, the delay, the pass,
// the network allowed after it, expiry, and the bound on entries.

#include "storage/greylist.hpp"

#include <gtest/gtest.h>

#include "storage_fixture.hpp"

namespace mailstead::storage {
namespace {

class GreylistTest : public testing::StoreTest {
 protected:
  GreylistCheck check(const Triplet& t, std::int64_t now) { return check_greylist(store().read(), t, now, policy_); }
  void record(const Triplet& t, std::int64_t now) {
    auto txn = store().write();
    record_greylist(txn, t, now);
    txn.commit();
  }
  void passed(const Triplet& t, std::int64_t now) {
    auto txn = store().write();
    greylist_passed(txn, {t}, now, policy_);
    txn.commit();
  }
  std::size_t expire(std::int64_t now, std::size_t max = 1000) {
    auto txn = store().write();
    auto n = expire_greylist(txn, now, policy_, max);
    txn.commit();
    return n;
  }
  // delay 300 s, retries within 2 days, allowed 35 days, at most 4 triplets
  GreylistPolicy policy_{300, 172800, 3024000, 4};
  Triplet a_{"192.0.2.0/24", "joe@sender.example", "alice@example.test"};
  Triplet b_{"192.0.2.0/24", "ann@other.example", "alice@example.test"};
  Triplet c_{"198.51.100.0/24", "", "alice@example.test"};
};

TEST_F(GreylistTest, NewTripletWaitsTheDelayThenPasses) {
  auto first = check(a_, 1000);
  EXPECT_EQ(first.verdict, GreylistVerdict::unseen);
  EXPECT_EQ(first.wait, 300);
  record(a_, 1000);
  auto early = check(a_, 1100);
  EXPECT_EQ(early.verdict, GreylistVerdict::defer);
  EXPECT_EQ(early.wait, 200);
  EXPECT_EQ(check(a_, 1300).verdict, GreylistVerdict::retried);
  passed(a_, 1300);
  EXPECT_EQ(check(a_, 1301).verdict, GreylistVerdict::pass);
}

TEST_F(GreylistTest, ANetworkThatGotMailThroughIsAllowed) {
  record(a_, 1000);
  passed(a_, 1300);
  // Another sender from the same /24: allowed at once; another network is not.
  EXPECT_EQ(check(b_, 1400).verdict, GreylistVerdict::pass);
  EXPECT_EQ(check(c_, 1400).verdict, GreylistVerdict::unseen);
  // Until allow_for has passed since the last message.
  EXPECT_EQ(check(b_, 1300 + 3024000 - 1).verdict, GreylistVerdict::pass);
  EXPECT_EQ(check(b_, 1300 + 3024000).verdict, GreylistVerdict::unseen);
}

TEST_F(GreylistTest, MailFromAnAllowedNetworkRecordsNoTriplets) {
  record(a_, 1000);
  passed(a_, 1300);
  // b_ passes on the network's allowance; its message renews the allowance, adds no entry.
  ASSERT_EQ(check(b_, 2000).verdict, GreylistVerdict::pass);
  passed(b_, 2000);
  EXPECT_EQ(greylist_entries(store().read()), 1u);
  EXPECT_EQ(check(b_, 2000 + 3024000 - 1).verdict, GreylistVerdict::pass);
}

TEST_F(GreylistTest, ATripletNotRetriedInTimeIsForgotten) {
  record(a_, 1000);
  EXPECT_EQ(check(a_, 1000 + 172800).verdict, GreylistVerdict::retried);
  EXPECT_EQ(check(a_, 1000 + 172801).verdict, GreylistVerdict::unseen);
}

TEST_F(GreylistTest, ExpiryRemovesStaleTripletsAndAllowances) {
  record(a_, 1000);
  record(b_, 100000);
  record(c_, 2000);
  passed(c_, 2000);
  EXPECT_EQ(greylist_entries(store().read()), 3u);
  EXPECT_EQ(expire(1000 + 172801), 1u);  // a: never retried
  EXPECT_EQ(greylist_entries(store().read()), 2u);
  EXPECT_EQ(check(b_, 100100).verdict, GreylistVerdict::defer);
  // c passed at 2000: its triplet and its network's allowance go after 35 days.
  EXPECT_EQ(check(c_, 3000).verdict, GreylistVerdict::pass);
  EXPECT_EQ(expire(2000 + 3024000), 3u);  // b (never retried), c, c's network
  EXPECT_EQ(greylist_entries(store().read()), 0u);
  EXPECT_EQ(check(c_, 2000 + 3024000).verdict, GreylistVerdict::unseen);
}

TEST_F(GreylistTest, ExpiryWorksInBatches) {
  for (int i = 0; i < 4; ++i) record(Triplet{"203.0.113.0/24", "s" + std::to_string(i) + "@x.example", "r@y"}, 1000);
  EXPECT_EQ(expire(1000000, 3), 3u);
  EXPECT_EQ(expire(1000000, 3), 1u);
  EXPECT_EQ(greylist_entries(store().read()), 0u);
}

TEST_F(GreylistTest, AFullTableLetsNewTripletsThroughUngreylisted) {
  for (int i = 0; i < 4; ++i) record(Triplet{"203.0.113.0/24", "s" + std::to_string(i) + "@x.example", "r@y"}, 1000);
  EXPECT_EQ(check(a_, 1000).verdict, GreylistVerdict::full);
  // Known triplets still go by their record.
  EXPECT_EQ(check(Triplet{"203.0.113.0/24", "s0@x.example", "r@y"}, 1001).verdict, GreylistVerdict::defer);
  EXPECT_EQ(expire(1000 + 172801), 4u);
  EXPECT_EQ(check(a_, 1000 + 172801).verdict, GreylistVerdict::unseen);
}

TEST_F(GreylistTest, KeptAcrossReopening) {
  record(a_, 1000);
  reopen();
  EXPECT_EQ(check(a_, 1100).verdict, GreylistVerdict::defer);
}

}  // namespace
}  // namespace mailstead::storage
