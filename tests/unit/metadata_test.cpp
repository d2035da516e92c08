#include "storage/metadata.hpp"

#include <gtest/gtest.h>

#include "storage/testing.hpp"
#include "storage_fixture.hpp"

namespace mailstead::storage {
namespace {

using testing::ok;

class MetadataTest : public testing::StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    ok(store().update([](WriteTxn& t) { return add_domain(t, "example.test"); }));
    alice_ = ok(store().update([](WriteTxn& t) { return add_user(t, "alice@example.test", "h", {}); })).id;
    bob_ = ok(store().update([](WriteTxn& t) { return add_user(t, "bob@example.test", "h", {}); })).id;
  }
  MailboxId id_of(UserId user, std::string_view name) { return ok(find_mailbox(store().read(), user, name)).id; }
  Result<void> set(UserId user, MailboxId mailbox, std::vector<MetadataChange> changes, unsigned max_entries = 200) {
    return store().update([&](WriteTxn& t) {
      auto child = t.nested();
      auto result = set_metadata(child, user, user, mailbox, changes, {max_entries});
      if (result) child.commit();
      return result;
    });
  }
  std::vector<std::pair<std::string, std::string>> get(UserId user, MailboxId mailbox) {
    std::vector<std::pair<std::string, std::string>> out;
    for (auto& e : metadata_of(store().read(), user, mailbox)) out.emplace_back(e.name, e.value);
    return out;
  }
  using Entries = std::vector<std::pair<std::string, std::string>>;
  UserId alice_ = 0, bob_ = 0;
};

TEST_F(MetadataTest, PrivateEntriesArePerUserSharedOnesPerMailbox) {
  auto inbox = id_of(alice_, "INBOX");
  ok(set(alice_, inbox, {{"/private/Comment", "mine"}, {"/shared/comment", "for all"}}));
  // As bob would see alice's INBOX once it is shared with him: its shared entry, none of hers.
  ok(set(bob_, inbox, {{"/private/comment", "bob's"}}));
  EXPECT_EQ(get(alice_, inbox), (Entries{{"/private/Comment", "mine"}, {"/shared/comment", "for all"}}));
  EXPECT_EQ(get(bob_, inbox), (Entries{{"/private/comment", "bob's"}, {"/shared/comment", "for all"}}));
  // Names without case: a second set replaces the value and keeps the first spelling.
  ok(set(alice_, inbox, {{"/PRIVATE/COMMENT", "changed"}, {"/shared/comment", std::nullopt}}));
  EXPECT_EQ(get(alice_, inbox), (Entries{{"/private/Comment", "changed"}}));
  ok(set(alice_, kServerMetadata, {{"/private/vendor/vendor.x/setting", "1"}}));
  EXPECT_EQ(get(alice_, kServerMetadata), (Entries{{"/private/vendor/vendor.x/setting", "1"}}));
  EXPECT_TRUE(get(bob_, kServerMetadata).empty());
}

TEST_F(MetadataTest, AUserHoldsAtMostTheLimitAndASetIsWholeOrNothing) {
  auto inbox = id_of(alice_, "INBOX");
  auto archive = id_of(alice_, "Archive");
  ok(set(alice_, inbox, {{"/private/a", "1"}, {"/shared/b", "2"}}, 4));
  ok(set(alice_, kServerMetadata, {{"/private/c", "3"}}, 4));
  EXPECT_EQ(count_metadata(store().read(), alice_), 3u);
  // Two new entries where one fits: neither is stored.
  auto refused = set(alice_, archive, {{"/private/d", "4"}, {"/private/e", "5"}}, 4);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::limit);
  EXPECT_TRUE(get(alice_, archive).empty());
  // Replacing, or removing one to add another, is within it.
  ok(set(alice_, inbox, {{"/private/a", "one"}, {"/shared/b", std::nullopt}, {"/private/d", "4"}, {"/private/e", "5"}},
         4));
  EXPECT_EQ(count_metadata(store().read(), alice_), 4u);
  EXPECT_EQ(count_metadata(store().read(), bob_), 0u);
}

TEST_F(MetadataTest, EntriesFollowRenameAndGoWithDeleteAndTheUser) {
  auto archive = id_of(alice_, "Archive");
  ok(set(alice_, archive, {{"/private/comment", "old mail"}}));
  ok(store().update([&](WriteTxn& t) { return rename_mailbox(t, alice_, "Archive", "Attic"); }));
  EXPECT_EQ(get(alice_, id_of(alice_, "Attic")), (Entries{{"/private/comment", "old mail"}}));
  ok(store().update([&](WriteTxn& t) { return delete_mailbox(t, alice_, "Attic"); }));
  ok(store().update([&](WriteTxn& t) { return create_mailbox(t, alice_, "Attic"); }));
  EXPECT_TRUE(get(alice_, id_of(alice_, "Attic")).empty());
  EXPECT_TRUE(get(alice_, archive).empty());

  // RFC 5464 §4.1: a renamed INBOX takes a copy of its entries; INBOX keeps its own.
  auto inbox = id_of(alice_, "INBOX");
  ok(set(alice_, inbox, {{"/shared/comment", "in"}}));
  ok(store().update([&](WriteTxn& t) { return rename_mailbox(t, alice_, "INBOX", "Saved"); }));
  EXPECT_EQ(get(alice_, id_of(alice_, "Saved")), (Entries{{"/shared/comment", "in"}}));
  EXPECT_EQ(get(alice_, id_of(alice_, "INBOX")), (Entries{{"/shared/comment", "in"}}));

  ok(set(alice_, kServerMetadata, {{"/private/x", "y"}}));
  EXPECT_EQ(count_metadata(store().read(), alice_), 3u);  // INBOX's, Saved's, the server's
  ok(store().update([&](WriteTxn& t) { return remove_user(t, alice_); }));
  auto r = store().read();
  EXPECT_TRUE(metadata_of(r, alice_, kServerMetadata).empty());
  EXPECT_TRUE(metadata_of(r, alice_, inbox).empty());
}

}  // namespace
}  // namespace mailstead::storage
