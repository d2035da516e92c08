#include "storage/queue.hpp"

#include <gtest/gtest.h>

#include "storage_fixture.hpp"

namespace mailstead::storage {
namespace {

using testing::error_of;
using testing::ok;

const std::string kMessage = "From: alice@example.test\r\nTo: carol@example.org\r\nSubject: out\r\n\r\nhi\r\n";

class QueueTest : public testing::StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    alice_ = ok(store().update([](WriteTxn& t) -> Result<UserId> {
      ok(add_domain(t, "example.test"));
      return ok(add_user(t, "alice@example.test", "h", {})).id;
    }));
  }

  NewQueueEntry request(std::vector<std::string> to, std::int64_t not_before = 0) {
    NewQueueEntry e;
    e.sender = "alice@example.test";
    e.submitted_by = alice_;
    e.envid = "ENV1";
    e.return_full = true;
    e.not_before = not_before;
    for (auto& address : to) {
      QueuedRecipient r;
      r.address = std::move(address);
      r.notify = kNotifyFailure | kNotifyDelay;
      r.orcpt = "rfc822;" + r.address;
      e.recipients.push_back(std::move(r));
    }
    return e;
  }

  UserId alice_ = 0;
};

TEST_F(QueueTest, LocalAndRemoteRecipientsShareOneBlobInOneTransaction) {
  QueueEntry entry;
  ok(store().update([&](WriteTxn& t) -> Result<void> {
    ok(deliver_message(t, prepare_message(kMessage), {alice_})[0].result);
    entry = ok(enqueue(t, kMessage, request({"carol@example.org", "dave@example.net"})));
    return {};
  }));
  auto r = store().read();
  EXPECT_EQ(blob_refcount(r, entry.blob), 2u);
  auto stored = find_queue_entry(r, entry.id);
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->sender, "alice@example.test");
  EXPECT_EQ(stored->envid, "ENV1");
  EXPECT_TRUE(stored->return_full);
  EXPECT_EQ(stored->submitted_by, alice_);
  EXPECT_EQ(stored->size, kMessage.size());
  ASSERT_EQ(stored->recipients.size(), 2u);
  EXPECT_EQ(stored->recipients[1].address, "dave@example.net");
  EXPECT_EQ(stored->recipients[1].orcpt, "rfc822;dave@example.net");
  EXPECT_EQ(stored->recipients[1].notify, kNotifyFailure | kNotifyDelay);
  EXPECT_EQ(stored->recipients[0].state, RecipientState::pending);
  EXPECT_EQ(*read_blob(r, stored->blob), kMessage);
}

TEST_F(QueueTest, DueEntriesComeInOrderOfTheirNextAttempt) {
  auto later = ok(store().update([&](WriteTxn& t) { return enqueue(t, kMessage, request({"a@x.test"}, 4000000000)); }));
  auto now = ok(store().update([&](WriteTxn& t) { return enqueue(t, kMessage, request({"b@x.test"})); }));
  auto due = due_entries(store().read(), 3000000000, 10);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].id, now.id);
  auto all = due_entries(store().read(), 4000000001, 10);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1].id, later.id);
  EXPECT_EQ(due_entries(store().read(), 4000000001, 1).size(), 1u);
  EXPECT_EQ(list_queue(store().read()).size(), 2u);
}

TEST_F(QueueTest, RunnerOutcomesMoveTheEntryAndFinallyRemoveIt) {
  auto entry = ok(store().update([&](WriteTxn& t) { return enqueue(t, kMessage, request({"a@x.test", "b@y.test"})); }));
  entry.recipients[0].state = RecipientState::delivered;
  entry.recipients[0].last_error = "250 2.0.0 ok";
  entry.recipients[1].attempts = 1;
  entry.recipients[1].next_attempt = 4000000000;
  entry.recipients[1].last_error = "451 4.7.1 try later";
  entry.recipients[1].delay_notified = true;
  ok(store().update([&](WriteTxn& t) { return update_queue_entry(t, entry); }));
  auto r = store().read();
  EXPECT_TRUE(due_entries(r, 3999999999, 10).empty());
  auto stored = find_queue_entry(r, entry.id);
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->recipients[1].last_error, "451 4.7.1 try later");
  EXPECT_EQ(stored->next_attempt(), 4000000000);
  EXPECT_TRUE(stored->recipients[1].delay_notified);
  EXPECT_FALSE(stored->recipients[0].delay_notified);
  entry.recipients[1].state = RecipientState::failed;
  ok(store().update([&](WriteTxn& t) { return update_queue_entry(t, entry); }));
  auto after = store().read();
  EXPECT_FALSE(find_queue_entry(after, entry.id));
  EXPECT_EQ(blob_refcount(after, entry.blob), 0u);
  EXPECT_TRUE(list_queue(after).empty());
}

TEST_F(QueueTest, RemoveAndErrors) {
  auto entry = ok(store().update([&](WriteTxn& t) { return enqueue(t, kMessage, request({"a@x.test"})); }));
  ok(store().update([&](WriteTxn& t) { return remove_queue_entry(t, entry.id); }));
  EXPECT_EQ(blob_refcount(store().read(), entry.blob), 0u);
  EXPECT_TRUE(due_entries(store().read(), 4000000000, 10).empty());
  auto t = store().write();
  EXPECT_EQ(error_of(remove_queue_entry(t, entry.id)), Errc::not_found);
  EXPECT_EQ(error_of(update_queue_entry(t, entry)), Errc::not_found);
  EXPECT_EQ(error_of(enqueue(t, "", request({"a@x.test"}))), Errc::invalid_argument);
  EXPECT_EQ(error_of(enqueue(t, kMessage, request({}))), Errc::invalid_argument);
}

TEST_F(QueueTest, NullSenderIsKept) {
  auto req = request({"a@x.test"});
  req.sender = "";
  auto entry = ok(store().update([&](WriteTxn& t) { return enqueue(t, kMessage, req); }));
  EXPECT_EQ(find_queue_entry(store().read(), entry.id)->sender, "");
}

}  // namespace
}  // namespace mailstead::storage
