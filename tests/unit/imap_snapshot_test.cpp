// SnapshotCache: a big mailbox's SELECT material is reused only while the mailbox is exactly
// as it was read.
#include <gtest/gtest.h>

#include <random>

#include "imapd/snapshot_cache.hpp"
#include "storage/accounts.hpp"
#include "tests/unit/storage_fixture.hpp"

namespace mailstead::imap {
namespace {

using namespace storage;
using storage::testing::ok;

class SnapshotCacheTest : public storage::testing::StoreTest {};

TEST_F(SnapshotCacheTest, ReusedUntilTheMailboxChanges) {
  options_.map_size = std::uint64_t{64} << 20;
  ok(store().update([](WriteTxn& t) { return add_domain(t, "example.test"); }));
  auto user = ok(store().update([](WriteTxn& t) { return add_user(t, "alice@example.test", "h", {}); })).id;
  auto inbox = ok(find_mailbox(store().read(), user, "INBOX"));
  const std::uint64_t count = SnapshotCache::kMinMessages + 10;
  ok(store().update([&](WriteTxn& t) -> Result<void> {
    for (std::uint64_t i = 0; i < count; ++i) {
      AppendOptions o;
      o.flags = i < 5 ? std::uint32_t{kSeen} : 0u;
      if (i == 7) o.keywords = {"$Work"};
      auto m = append_message(t, inbox, prepare_message("Subject: " + std::to_string(i) + "\r\n\r\nx\r\n"), o);
      if (!m) return m.error();
      inbox = ok(mailbox_by_id(t, inbox.id));
    }
    return {};
  }));
  SnapshotCache cache;
  auto select = [&] {
    auto txn = store().read();
    return cache.get(txn, ok(mailbox_by_id(txn, inbox.id)));
  };
  auto first = select();
  EXPECT_EQ(first->uids.size(), count);
  EXPECT_EQ(first->first_unseen_seq(), 6u);
  EXPECT_EQ(first->keywords, std::set<std::string>{"$Work"});
  EXPECT_EQ(select().get(), first.get());  // unchanged: the same snapshot
  ok(store().update([&](WriteTxn& t) { return store_flags(t, inbox.id, 6, FlagOperation::add, kSeen, {}); }));
  auto second = select();
  EXPECT_NE(second.get(), first.get());
  EXPECT_EQ(second->first_unseen_seq(), 7u);
  ok(store().update([&](WriteTxn& t) -> Result<void> {
    expunge_messages(t, inbox.id, {1, 2});
    return {};
  }));
  auto third = select();
  EXPECT_EQ(third->uids.size(), count - 2);
  EXPECT_EQ(third->uids.front(), 3u);
}

// Random appends, flag changes and expunges: the snapshot brought up to date through the
// change log equals the one read from scratch, every time.
TEST_F(SnapshotCacheTest, UpdatedThroughTheChangeLogAsIfReadAgain) {
  options_.map_size = std::uint64_t{64} << 20;
  ok(store().update([](WriteTxn& t) { return add_domain(t, "example.test"); }));
  auto user = ok(store().update([](WriteTxn& t) { return add_user(t, "alice@example.test", "h", {}); })).id;
  auto inbox = ok(find_mailbox(store().read(), user, "INBOX"));
  std::mt19937 random(7);
  auto append = [&](std::uint32_t flags, std::vector<std::string> keywords) {
    ok(store().update([&](WriteTxn& t) -> Result<void> {
      AppendOptions o;
      o.flags = flags;
      o.keywords = std::move(keywords);
      auto m = append_message(t, ok(mailbox_by_id(t, inbox.id)), prepare_message("Subject: x\r\n\r\nx\r\n"), o);
      if (!m) return m.error();
      return {};
    }));
  };
  for (int i = 0; i < 50; ++i) append(i < 20 ? std::uint32_t{kSeen} : 0u, {});
  auto txn0 = store().read();
  auto snapshot = read_snapshot(txn0, inbox.id);
  auto modseq = ok(mailbox_by_id(txn0, inbox.id)).highest_modseq;
  for (int round = 0; round < 200; ++round) {
    auto uids = list_uids(store().read(), inbox.id);
    auto pick = [&] { return uids[random() % uids.size()]; };
    int steps = 1 + static_cast<int>(random() % 4);
    for (int k = 0; k < steps; ++k) {
      switch (random() % 5) {
        case 0:
          append(random() % 2 ? std::uint32_t{kSeen} : 0u, random() % 3 == 0
                                                               ? std::vector<std::string>{"$K" + std::to_string(round)}
                                                               : std::vector<std::string>{});
          break;
        case 1:
          if (!uids.empty())
            ok(store().update(
                [&](WriteTxn& t) { return store_flags(t, inbox.id, pick(), FlagOperation::add, kSeen, {}); }));
          break;
        case 2:
          if (!uids.empty())
            ok(store().update(
                [&](WriteTxn& t) { return store_flags(t, inbox.id, pick(), FlagOperation::remove, kSeen, {}); }));
          break;
        case 3:
          if (uids.size() > 5)
            ok(store().update([&](WriteTxn& t) -> Result<void> {
              expunge_messages(t, inbox.id, {pick()});
              return {};
            }));
          break;
        default:
          break;  // nothing changes: the update must be a no-op
      }
      uids = list_uids(store().read(), inbox.id);
    }
    auto txn = store().read();
    auto mailbox = ok(mailbox_by_id(txn, inbox.id));
    auto updated = updated_snapshot(txn, mailbox, snapshot, modseq);
    ASSERT_TRUE(updated) << "round " << round;
    auto fresh = read_snapshot(txn, inbox.id);
    ASSERT_EQ(updated->uids, fresh.uids) << "round " << round;
    ASSERT_EQ(updated->first_unseen_uid, fresh.first_unseen_uid) << "round " << round;
    for (const auto& k : fresh.keywords) ASSERT_TRUE(updated->keywords.count(k)) << k;
    snapshot = *updated;
    modseq = mailbox.highest_modseq;
  }
}

}  // namespace
}  // namespace mailstead::imap
