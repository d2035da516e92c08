#include <gtest/gtest.h>

#include "smtpd/outbound/retry.hpp"

namespace mailstead::outbound {
namespace {

using std::chrono::seconds;
using storage::RecipientState;

TEST(OutboundRetry, DelayDoublesUpToTheMaximum) {
  RetryPolicy p{seconds(300), seconds(3600), seconds(5 * 86400)};
  EXPECT_EQ(retry_delay(1, p), 300);
  EXPECT_EQ(retry_delay(2, p), 600);
  EXPECT_EQ(retry_delay(3, p), 1200);
  EXPECT_EQ(retry_delay(4, p), 2400);
  EXPECT_EQ(retry_delay(5, p), 3600);
  EXPECT_EQ(retry_delay(1000, p), 3600);
}

storage::QueueEntry entry(std::int64_t created) {
  storage::QueueEntry e;
  e.created = created;
  for (auto a : {"a@x.example", "b@x.example", "c@y.example"})
    e.recipients.push_back({a, RecipientState::pending, 0, created, "", "", 0});
  return e;
}

TEST(OutboundRetry, EachRecipientGetsItsOutcome) {
  RetryPolicy p{seconds(300), seconds(3600), seconds(86400)};
  auto e = entry(1000);
  auto failed = apply_results(e,
                              {{0, AttemptKind::delivered, "", "2.0.0", "mx"},
                               {1, AttemptKind::permanent, "550 5.1.1 unknown", "5.1.1", "mx"},
                               {2, AttemptKind::temporary, "451 4.3.0 later", "4.3.0", "mx"}},
                              1100, p);
  EXPECT_EQ(failed, (std::vector<std::size_t>{1}));
  EXPECT_EQ(e.recipients[0].state, RecipientState::delivered);
  EXPECT_EQ(e.recipients[1].state, RecipientState::failed);
  EXPECT_EQ(e.recipients[1].last_error, "550 5.1.1 unknown");
  EXPECT_EQ(e.recipients[2].state, RecipientState::pending);
  EXPECT_EQ(e.recipients[2].attempts, 1u);
  EXPECT_EQ(e.recipients[2].next_attempt, 1400);
  EXPECT_EQ(e.next_attempt(), 1400);
}

TEST(OutboundRetry, GivesUpAtMaxAgeAndRetriesLastAtIt) {
  RetryPolicy p{seconds(300), seconds(3600), seconds(1000)};
  auto e = entry(0);
  apply_results(e, {{2, AttemptKind::temporary, "451 later", "4.3.0", ""}}, 900, p);
  EXPECT_EQ(e.recipients[2].next_attempt, 1000);  // not past max_age
  auto failed = apply_results(e, {{2, AttemptKind::temporary, "451 later", "4.3.0", ""}}, 1000, p);
  EXPECT_EQ(failed, (std::vector<std::size_t>{2}));
  EXPECT_EQ(e.recipients[2].state, RecipientState::failed);
  EXPECT_EQ(e.recipients[2].last_error, "gave up after 2 attempts: 451 later");
  // A recipient settled meanwhile (by the admin) is left alone.
  e.recipients[0].state = RecipientState::failed;
  EXPECT_TRUE(apply_results(e, {{0, AttemptKind::delivered, "", "", ""}}, 1001, p).empty());
  EXPECT_EQ(e.recipients[0].state, RecipientState::failed);
}

TEST(OutboundRetry, OneDelayNoticePerRecipientAfterTheDelay) {
  auto e = entry(0);
  e.recipients[0].attempts = 1;
  e.recipients[1].attempts = 1;
  e.recipients[1].state = RecipientState::delivered;
  // recipient 2 has not been tried yet: nothing to report about it
  EXPECT_TRUE(take_delay_notices(e, 3599, seconds(3600)).empty());
  EXPECT_EQ(take_delay_notices(e, 3600, seconds(3600)), (std::vector<std::size_t>{0}));
  EXPECT_TRUE(e.recipients[0].delay_notified);
  EXPECT_TRUE(take_delay_notices(e, 9000, seconds(3600)).empty());  // once only
  e.recipients[2].attempts = 1;
  EXPECT_EQ(take_delay_notices(e, 9000, seconds(3600)), (std::vector<std::size_t>{2}));
  auto never = entry(0);
  never.recipients[0].attempts = 5;
  EXPECT_TRUE(take_delay_notices(never, 100000, seconds(0)).empty());
}

}  // namespace
}  // namespace mailstead::outbound
