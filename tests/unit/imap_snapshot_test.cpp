// SnapshotCache: a big mailbox's SELECT material is reused only while the mailbox is exactly
// as it was read.
#include <gtest/gtest.h>

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
      auto m = append_message(t, inbox, "Subject: " + std::to_string(i) + "\r\n\r\nx\r\n", o);
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
  EXPECT_EQ(first->first_unseen_seq, 6u);
  EXPECT_EQ(first->keywords, std::set<std::string>{"$Work"});
  EXPECT_EQ(select().get(), first.get());  // unchanged: the same snapshot
  ok(store().update([&](WriteTxn& t) { return store_flags(t, inbox.id, 6, FlagOperation::add, kSeen, {}); }));
  auto second = select();
  EXPECT_NE(second.get(), first.get());
  EXPECT_EQ(second->first_unseen_seq, 7u);
  ok(store().update([&](WriteTxn& t) -> Result<void> {
    expunge_messages(t, inbox.id, {1, 2});
    return {};
  }));
  auto third = select();
  EXPECT_EQ(third->uids.size(), count - 2);
  EXPECT_EQ(third->uids.front(), 3u);
}

}  // namespace
}  // namespace mailstead::imap
