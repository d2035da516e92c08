#include "storage/store.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "storage/accounts.hpp"
#include "storage/changes.hpp"
#include "storage/detail/codec.hpp"
#include "storage/mailboxes.hpp"
#include "storage/messages.hpp"
#include "storage/testing.hpp"
#include "storage_fixture.hpp"

namespace mailstead::storage {
namespace {

using testing::error_of;
using testing::ok;

class MailboxTest : public testing::StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    user_ = store()
                .update([](WriteTxn& t) -> Result<UserId> {
                  ok(add_domain(t, "example.test"));
                  return ok(add_user(t, "alice@example.test", "h", {})).id;
                })
                .
                operator*();
  }
  std::vector<std::string> names() {
    std::vector<std::string> out;
    for (const auto& m : list_mailboxes(store().read(), user_)) out.push_back(m.name);
    return out;
  }
  UserId user_ = 0;
};

TEST_F(MailboxTest, CreateMakesMissingParents) {
  auto made = store().update([&](WriteTxn& t) { return create_mailbox(t, user_, "Work/Projects/2026"); });
  ASSERT_TRUE(made) << made.error().detail;
  EXPECT_EQ(made->name, "Work/Projects/2026");
  EXPECT_EQ(names(), (std::vector<std::string>{"INBOX", "Archive", "Drafts", "Junk", "Sent", "Trash", "Work",
                                               "Work/Projects", "Work/Projects/2026"}));
}

TEST_F(MailboxTest, InboxIsCaseInsensitive) {
  auto r = store().read();
  EXPECT_EQ(ok(find_mailbox(r, user_, "inbox")).name, "INBOX");
  EXPECT_EQ(ok(find_mailbox(r, user_, "InBoX")).name, "INBOX");
  EXPECT_EQ(error_of(find_mailbox(r, user_, "sent")), Errc::not_found);  // other names are exact
}

TEST_F(MailboxTest, InboxChildrenAreNormalizedToo) {
  ok(store().update([&](WriteTxn& t) { return create_mailbox(t, user_, "inbox/Receipts"); }));
  EXPECT_TRUE(find_mailbox(store().read(), user_, "INBOX/Receipts"));
}

TEST_F(MailboxTest, RefusesBadNamesAndDuplicates) {
  auto t = store().write();
  for (auto bad : {"", "/x", "x/", "a//b", "bad\x01name", "\xff\xfe"}) {
    EXPECT_EQ(error_of(create_mailbox(t, user_, bad)), Errc::invalid_argument) << bad;
  }
  // Found: names of 512 to 1024 bytes passed the check and failed in LMDB (its keys hold 511).
  for (std::size_t length : {501, 600, 1025})
    EXPECT_EQ(error_of(create_mailbox(t, user_, std::string(length, 'x'))), Errc::invalid_argument) << length;
  ok(create_mailbox(t, user_, std::string(500, 'x')));
  ok(create_mailbox(t, user_, std::string(250, 'y') + "/" + std::string(249, 'z')));
  EXPECT_EQ(error_of(create_mailbox(t, user_, "Sent")), Errc::already_exists);
  EXPECT_EQ(error_of(create_mailbox(t, user_, "INBOX")), Errc::already_exists);
}

TEST_F(MailboxTest, UidValidityNeverRepeats) {
  std::vector<std::uint32_t> seen;
  for (const auto& m : list_mailboxes(store().read(), user_)) seen.push_back(m.uid_validity);
  auto fresh = ok(store().update([&](WriteTxn& t) { return create_mailbox(t, user_, "New"); }));
  for (auto v : seen) EXPECT_LT(v, fresh.uid_validity);
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(std::adjacent_find(seen.begin(), seen.end()), seen.end());
}

TEST_F(MailboxTest, Subscription) {
  ok(store().update([&](WriteTxn& t) { return create_mailbox(t, user_, "Lists"); }));
  EXPECT_FALSE(is_subscribed(store().read(), user_, "Lists"));
  ok(store().update([&](WriteTxn& t) { return set_subscribed(t, user_, "Lists", true); }));
  EXPECT_TRUE(is_subscribed(store().read(), user_, "Lists"));
  // A name without a mailbox may be subscribed (RFC 9051 §6.3.7), in its canonical form.
  ok(store().update([&](WriteTxn& t) { return set_subscribed(t, user_, "inbox/Later", true); }));
  // Beside the standard mailboxes a new user is subscribed to, in byte order.
  EXPECT_EQ(subscribed(store().read(), user_),
            (std::vector<std::string>{"Archive", "Drafts", "INBOX", "INBOX/Later", "Junk", "Lists", "Sent", "Trash"}));
  auto t = store().write();
  EXPECT_EQ(error_of(set_subscribed(t, user_, "Nope", false)), Errc::not_found);
  EXPECT_EQ(error_of(set_subscribed(t, user_, "a//b", true)), Errc::invalid_argument);
}

// RFC 9051 §6.3.7: the server never drops a subscription by itself; a RENAME takes the
// subscriptions of the mailboxes it moves along.
TEST_F(MailboxTest, SubscriptionsOutliveDeleteAndFollowRename) {
  ok(store().update([&](WriteTxn& t) -> Result<void> {
    ok(create_mailbox(t, user_, "Work/Old", SpecialUse::none, true));
    ok(create_mailbox(t, user_, "Gone", SpecialUse::none, true));
    return {};
  }));
  auto mine = [&]() {  // apart from the standard mailboxes
    auto all = subscribed(store().read(), user_);
    std::erase_if(all, [](const std::string& n) {
      return n == "INBOX" || n == "Sent" || n == "Drafts" || n == "Trash" || n == "Junk" || n == "Archive";
    });
    return all;
  };
  EXPECT_EQ(mine(), (std::vector<std::string>{"Gone", "Work", "Work/Old"}));
  ok(store().update([&](WriteTxn& t) { return delete_mailbox(t, user_, "Gone"); }));
  ok(store().update([&](WriteTxn& t) { return rename_mailbox(t, user_, "Work", "Jobs"); }));
  EXPECT_EQ(mine(), (std::vector<std::string>{"Gone", "Jobs", "Jobs/Old"}));
  ok(store().update([&](WriteTxn& t) {
    remove_all_mailboxes(t, user_);
    return Result<void>{};
  }));
  EXPECT_TRUE(subscribed(store().read(), user_).empty());
}

// Format 2 kept subscriptions as a flag in each mailbox record; opening such a store moves them
// to their own table and rewrites the records, in the opening transaction.
TEST_F(MailboxTest, AFormat2StoreKeepsItsSubscriptionsWhenUpgraded) {
  ok(store().update([&](WriteTxn& t) -> Result<void> {
    ok(create_mailbox(t, user_, "Lists/Rust", SpecialUse::none, true));
    ok(create_mailbox(t, user_, "Quiet"));
    ok(set_subscribed(t, user_, "Junk", false));
    return {};
  }));
  auto before = subscribed(store().read(), user_);
  auto boxes_before = list_mailboxes(store().read(), user_);
  {
    auto t = store().write();
    testing::downgrade_to_format_2(t);
    t.commit();
  }
  EXPECT_TRUE(subscribed(store().read(), user_).empty());
  store_.reset();
  EXPECT_EQ(subscribed(store().read(), user_), before);
  EXPECT_EQ(testing::schema_version(store().read()), kSchemaVersion);
  auto boxes_after = list_mailboxes(store().read(), user_);
  ASSERT_EQ(boxes_after.size(), boxes_before.size());
  for (std::size_t i = 0; i < boxes_after.size(); ++i) {
    EXPECT_EQ(boxes_after[i].name, boxes_before[i].name);
    EXPECT_EQ(boxes_after[i].uid_validity, boxes_before[i].uid_validity);
    EXPECT_EQ(boxes_after[i].special_use, boxes_before[i].special_use);
  }
}

TEST_F(MailboxTest, DotSeparator) {
  options_.hierarchy_separator = '.';
  std::filesystem::remove_all(dir_);
  store_.reset();
  auto id = ok(store().update([](WriteTxn& t) -> Result<UserId> {
    ok(add_domain(t, "example.test"));
    return ok(add_user(t, "bob@example.test", "h", {})).id;
  }));
  ok(store().update([&](WriteTxn& t) { return create_mailbox(t, id, "Work.Done"); }));
  EXPECT_TRUE(find_mailbox(store().read(), id, "Work"));
}

TEST_F(MailboxTest, DeletionIsInTheChangeLogEvenForAnEmptyMailbox) {
  auto work = ok(store().update([&](WriteTxn& t) { return create_mailbox(t, user_, "Work"); }));
  auto before = last_modseq(store().read());
  ok(store().update([&](WriteTxn& t) { return delete_mailbox(t, user_, "Work"); }));
  auto changes = changes_since(store().read(), before);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].kind, ChangeKind::mailbox_deleted);
  EXPECT_EQ(changes[0].mailbox, work.id);
  EXPECT_EQ(changes[0].user, user_);
}

TEST_F(MailboxTest, RecentIsClaimedOnce) {
  auto inbox = ok(find_mailbox(store().read(), user_, "INBOX"));
  EXPECT_EQ(inbox.recent_floor, 1u);
  for (int i = 0; i < 3; ++i)
    ok(store().update(
        [&](WriteTxn& t) { return append_message(t, inbox, prepare_message("Subject: x\r\n\r\nx\r\n")); }));
  EXPECT_EQ(count_messages_from(store().read(), inbox.id, 1), 3u);
  EXPECT_EQ(count_messages_from(store().read(), inbox.id, 3), 1u);
  EXPECT_EQ(count_messages_from(store().read(), inbox.id, 4), 0u);
  EXPECT_EQ(ok(store().update([&](WriteTxn& t) { return claim_recent(t, inbox.id); })), 1u);
  EXPECT_EQ(ok(find_mailbox(store().read(), user_, "INBOX")).recent_floor, 4u);
  EXPECT_EQ(ok(store().update([&](WriteTxn& t) { return claim_recent(t, inbox.id); })), 4u);  // nothing new
  reopen();
  EXPECT_EQ(ok(find_mailbox(store().read(), user_, "INBOX")).recent_floor, 4u);
  EXPECT_EQ(error_of(store().update([&](WriteTxn& t) { return claim_recent(t, 9999); })), Errc::not_found);
}

using StoreLifecycle = testing::StoreTest;

TEST_F(StoreLifecycle, UpdateThatFailsCommitsNothing) {
  auto r = store().update([](WriteTxn& t) -> Result<void> {
    ok(add_domain(t, "example.test"));
    return fail(Errc::invalid_argument, "changed my mind");
  });
  EXPECT_FALSE(r);
  EXPECT_TRUE(list_domains(store().read()).empty());
}

TEST_F(StoreLifecycle, UncommittedWriteIsRolledBack) {
  {
    auto t = store().write();
    ok(add_domain(t, "example.test"));
  }
  EXPECT_TRUE(list_domains(store().read()).empty());
}

TEST_F(StoreLifecycle, ReadersSeeASnapshot) {
  auto before = store().read();
  ok(store().update([](WriteTxn& t) { return add_domain(t, "example.test"); }));
  EXPECT_TRUE(list_domains(before).empty());
  EXPECT_EQ(list_domains(store().read()).size(), 1u);
}

TEST_F(StoreLifecycle, MapGrowsWhenFull) {
  options_.map_size = std::uint64_t{1} << 20;
  ok(store().update([](WriteTxn& t) { return add_domain(t, "example.test"); }));
  auto initial = store().map_size();
  for (int batch = 0; batch < 40; ++batch) {
    ok(store().update([&](WriteTxn& t) -> Result<void> {
      for (int i = 0; i < 100; ++i)
        ok(add_user(t, fmt::format("user{}-{}@example.test", batch, i), std::string(200, 'h'), {}));
      return {};
    }));
  }
  EXPECT_GT(store().map_size(), initial);
  EXPECT_EQ(list_users(store().read()).size(), 4000u);
  reopen();
  EXPECT_EQ(list_users(store().read()).size(), 4000u);
}

TEST_F(StoreLifecycle, FullAtTheMaximumIsATemporaryError) {
  options_.map_size = std::uint64_t{1} << 20;
  options_.max_map_size = std::uint64_t{2} << 20;
  ok(store().update([](WriteTxn& t) { return add_domain(t, "example.test"); }));
  try {
    for (int batch = 0;; ++batch) {
      ok(store().update([&](WriteTxn& t) -> Result<void> {
        for (int i = 0; i < 100; ++i)
          ok(add_user(t, fmt::format("user{}-{}@example.test", batch, i), std::string(200, 'h'), {}));
        return {};
      }));
      ASSERT_LT(batch, 1000) << "the store never filled up";
    }
  } catch (const StorageError& e) {
    EXPECT_EQ(e.code(), Errc::no_space);
  }
  EXPECT_EQ(store().map_size(), std::uint64_t{2} << 20);
  // Still usable: reads work and a small delete goes through.
  auto users = list_users(store().read());
  EXPECT_FALSE(users.empty());
  ok(store().update([&](WriteTxn& t) { return remove_user(t, users.front().id); }));
}

TEST_F(StoreLifecycle, RefusesANewerSchema) {
  store();
  {
    auto t = store().write();
    testing::set_schema_version(t, kSchemaVersion + 1);
    t.commit();
  }
  store_.reset();
  try {
    store();
    FAIL() << "opened a store of a newer format";
  } catch (const StorageError& e) {
    EXPECT_EQ(e.code(), Errc::version_mismatch);
    EXPECT_NE(std::string(e.what()).find(
                  fmt::format("has format {}, this mailstead reads format {}", kSchemaVersion + 1, kSchemaVersion)),
              std::string::npos)
        << e.what();
  }
}

TEST_F(StoreLifecycle, RefusesAnotherHierarchySeparator) {
  store();
  store_.reset();
  options_.hierarchy_separator = '.';
  try {
    store();
    FAIL() << "opened with another separator";
  } catch (const StorageError& e) {
    EXPECT_EQ(e.code(), Errc::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("storage.hierarchy_separator"), std::string::npos);
  }
}

TEST(Codec, RoundTripsRecordsAndRejectsTruncation) {
  auto bytes =
      codec::Writer(3).u64(0).u64(127).u64(128).u64(~std::uint64_t{0}).str("").str("hello").boolean(true).take();
  codec::Reader r(bytes, "test");
  EXPECT_EQ(r.format(), 3);
  EXPECT_EQ(r.u64(), 0u);
  EXPECT_EQ(r.u64(), 127u);
  EXPECT_EQ(r.u64(), 128u);
  EXPECT_EQ(r.u64(), ~std::uint64_t{0});
  EXPECT_EQ(r.str(), "");
  EXPECT_EQ(r.str(), "hello");
  EXPECT_TRUE(r.boolean());
  EXPECT_TRUE(r.at_end());
  for (std::size_t cut = 1; cut < bytes.size(); ++cut) {
    codec::Reader partial(std::string_view(bytes).substr(0, cut), "test");
    EXPECT_THROW(
        {
          partial.u64();
          partial.u64();
          partial.u64();
          partial.u64();
          partial.str();
          partial.str();
          partial.boolean();
        },
        StorageError)
        << cut;
  }
  EXPECT_THROW(codec::Reader("", "test"), StorageError);
}

TEST(Codec, BigEndianKeysSortNumerically) {
  EXPECT_LT(codec::key_u32(1), codec::key_u32(256));
  EXPECT_LT(codec::key_u32_u32(1, 0xffffffff), codec::key_u32_u32(2, 0));
  EXPECT_EQ(codec::get_u32be(codec::key_u32(0xdeadbeef)), 0xdeadbeefu);
}

}  // namespace
}  // namespace mailstead::storage
