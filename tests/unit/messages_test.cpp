#include "storage/messages.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <ctime>
#include <map>
#include <random>

#include "storage/changes.hpp"
#include "storage/check.hpp"
#include "storage/testing.hpp"
#include "storage/text_index.hpp"
#include "storage_fixture.hpp"

namespace mailstead::storage {
namespace {

using testing::error_of;
using testing::ok;

const std::string kMessage = "From: a@example.org\r\nSubject: hi\r\n\r\nHello\r\n";

class MessagesTest : public testing::StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    ok(store().update([](WriteTxn& t) { return add_domain(t, "example.test"); }));
    alice_ = add("alice@example.test");
    bob_ = add("bob@example.test");
  }

  UserId add(std::string_view address, Quota quota = {}) {
    return ok(store().update([&](WriteTxn& t) { return add_user(t, address, "h", quota); })).id;
  }
  Mailbox box(UserId user, std::string_view name) { return ok(find_mailbox(store().read(), user, name)); }
  Message append(UserId user, std::string_view name, const std::string& bytes = kMessage, AppendOptions o = {}) {
    auto target = box(user, name);
    return ok(store().update([&](WriteTxn& t) { return append_message(t, target, prepare_message(bytes), o); }));
  }

  UserId alice_ = 0, bob_ = 0;
};

TEST_F(MessagesTest, AppendGivesIncreasingUidsAndModseqs) {
  auto first = append(alice_, "INBOX");
  auto second = append(alice_, "INBOX", "Subject: 2\r\n\r\nx\r\n");
  EXPECT_EQ(first.uid, 1u);
  EXPECT_EQ(second.uid, 2u);
  EXPECT_GT(second.modseq, first.modseq);
  auto inbox = box(alice_, "INBOX");
  EXPECT_EQ(inbox.uid_next, 3u);
  EXPECT_EQ(inbox.messages, 2u);
  EXPECT_EQ(inbox.bytes, kMessage.size() + 17);
  EXPECT_EQ(inbox.highest_modseq, second.modseq);
  auto r = store().read();
  EXPECT_EQ(*read_blob(r, first.blob), kMessage);
  EXPECT_EQ(usage_of(r, alice_).messages, 2u);
  EXPECT_EQ(usage_of(r, alice_).bytes, kMessage.size() + 17);
  EXPECT_EQ(list_uids(r, inbox.id), (std::vector<Uid>{1, 2}));
}

TEST_F(MessagesTest, EveryStoredMessageEndsItsLinesInCrlf) {
  auto appended = append(alice_, "INBOX", "Subject: lf\n\nbody\rline\n");
  EXPECT_EQ(appended.size, 27u);
  std::vector<DeliveryOutcome> outcomes;
  ok(store().update([&](WriteTxn& t) {
    outcomes = deliver_message(t, prepare_message("Subject: lf\n\nbody\rline\n"), {bob_});
    return Result<void>{};
  }));
  ASSERT_TRUE(outcomes[0].result);
  EXPECT_EQ(outcomes[0].result->blob, appended.blob);  // the same bytes after conversion
  auto r = store().read();
  EXPECT_EQ(*read_blob(r, appended.blob), "Subject: lf\r\n\r\nbody\r\nline\r\n");
  EXPECT_EQ(box(alice_, "INBOX").bytes, 27u);
  EXPECT_EQ(usage_of(r, alice_).bytes, 27u);
}

TEST_F(MessagesTest, AppendKeepsFlagsKeywordsAndDate) {
  auto m =
      append(alice_, "Drafts", kMessage, {kSeen | kDraft | 0x100, {"$Forwarded", "Work", "$forwarded"}, 1700000000});
  auto stored = *find_message(store().read(), m.mailbox, m.uid);
  EXPECT_EQ(stored.flags, kSeen | kDraft);
  EXPECT_EQ(stored.keywords, (std::vector<std::string>{"$Forwarded", "Work"}));
  EXPECT_EQ(stored.internal_date, 1700000000);
  EXPECT_EQ(stored.size, kMessage.size());
}

TEST_F(MessagesTest, AppendRefusals) {
  auto inbox = box(alice_, "INBOX");
  auto t = store().write();
  EXPECT_EQ(error_of(append_message(t, inbox, prepare_message(""))), Errc::invalid_argument);
  EXPECT_EQ(error_of(append_message(t, inbox, prepare_message(kMessage), {0, {"bad keyword"}, 0})),
            Errc::invalid_argument);
  EXPECT_EQ(error_of(append_message(t, inbox, prepare_message(kMessage), {0, {"\\Seen"}, 0})), Errc::invalid_argument);
}

TEST_F(MessagesTest, DeliveryStoresTheBytesOnceForAllRecipients) {
  auto carol = add("carol@example.test");
  std::vector<DeliveryOutcome> outcomes;
  ok(store().update([&](WriteTxn& t) -> Result<void> {
    outcomes = deliver_message(t, prepare_message(kMessage), {alice_, bob_, carol}, 1700000000);
    return {};
  }));
  ASSERT_EQ(outcomes.size(), 3u);
  for (auto& o : outcomes) ASSERT_TRUE(o.result) << o.result.error().detail;
  auto r = store().read();
  EXPECT_EQ(blob_refcount(r, outcomes[0].result->blob), 3u);
  for (auto user : {alice_, bob_, carol}) {
    auto inbox = ok(find_mailbox(r, user, "INBOX"));
    EXPECT_EQ(inbox.messages, 1u);
    auto m = find_message(r, inbox.id, 1);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->internal_date, 1700000000);
    EXPECT_EQ(*read_blob(r, m->blob), kMessage);
  }
}

TEST_F(MessagesTest, SuspectMailGoesToEachUsersJunkOrTheirInbox) {
  // bob deleted his Junk: his copy goes to his INBOX.
  ok(store().update([&](WriteTxn& t) { return delete_mailbox(t, bob_, "Junk"); }));
  std::vector<DeliveryOutcome> outcomes;
  ok(store().update([&](WriteTxn& t) -> Result<void> {
    outcomes = deliver_message(t, prepare_message(kMessage), {alice_, bob_}, 0, SpecialUse::junk);
    return {};
  }));
  for (auto& o : outcomes) ASSERT_TRUE(o.result) << o.result.error().detail;
  auto r = store().read();
  EXPECT_EQ(ok(find_mailbox(r, alice_, "Junk")).messages, 1u);
  EXPECT_EQ(ok(find_mailbox(r, alice_, "INBOX")).messages, 0u);
  EXPECT_EQ(ok(find_mailbox(r, bob_, "INBOX")).messages, 1u);
}

TEST_F(MessagesTest, QuotaIsPerRecipientAndExact) {
  auto small = add("small@example.test", Quota{kMessage.size() * 2, 0});
  auto few = add("few@example.test", Quota{0, 1});
  for (int round = 0; round < 3; ++round) {
    std::vector<DeliveryOutcome> outcomes;
    ok(store().update([&](WriteTxn& t) -> Result<void> {
      outcomes = deliver_message(t, prepare_message(kMessage), {alice_, small, few});
      return {};
    }));
    EXPECT_TRUE(outcomes[0].result);
    EXPECT_EQ(static_cast<bool>(outcomes[1].result), round < 2) << round;
    EXPECT_EQ(static_cast<bool>(outcomes[2].result), round < 1) << round;
    if (round >= 2) {
      EXPECT_EQ(outcomes[1].result.error().code, Errc::over_quota);
    }
  }
  auto r = store().read();
  EXPECT_EQ(usage_of(r, small).messages, 2u);
  EXPECT_EQ(usage_of(r, few).messages, 1u);
  EXPECT_EQ(usage_of(r, alice_).messages, 3u);
}

TEST_F(MessagesTest, Flags) {
  auto m = append(alice_, "INBOX");
  auto set = [&](FlagOperation op, std::uint32_t flags, std::vector<std::string> keywords,
                 std::optional<std::uint64_t> since = std::nullopt) {
    return ok(
        store().update([&](WriteTxn& t) { return store_flags(t, m.mailbox, m.uid, op, flags, keywords, since); }));
  };
  auto added = set(FlagOperation::add, kSeen | kFlagged, {"Work"});
  EXPECT_TRUE(added.changed);
  EXPECT_EQ(added.message.flags, kSeen | kFlagged);
  EXPECT_GT(added.message.modseq, m.modseq);
  auto again = set(FlagOperation::add, kSeen, {"work"});
  EXPECT_FALSE(again.changed);  // nothing new: no new modseq
  EXPECT_EQ(again.message.modseq, added.message.modseq);
  auto removed = set(FlagOperation::remove, kFlagged, {"WORK"});
  EXPECT_EQ(removed.message.flags, kSeen);
  EXPECT_TRUE(removed.message.keywords.empty());
  auto replaced = set(FlagOperation::replace, kAnswered, {"$Label1"});
  EXPECT_EQ(replaced.message.flags, kAnswered);
  EXPECT_EQ(replaced.message.keywords, std::vector<std::string>{"$Label1"});
  auto conflict = set(FlagOperation::add, kDeleted, {}, added.message.modseq);
  EXPECT_TRUE(conflict.conflict);
  EXPECT_FALSE(conflict.changed);
  EXPECT_EQ(find_message(store().read(), m.mailbox, m.uid)->flags, kAnswered);
  EXPECT_EQ(box(alice_, "INBOX").highest_modseq, replaced.message.modseq);
  auto t = store().write();
  EXPECT_EQ(error_of(store_flags(t, m.mailbox, 99, FlagOperation::add, kSeen, {})), Errc::not_found);
  EXPECT_EQ(error_of(store_flags(t, m.mailbox, m.uid, FlagOperation::add, 0, {"a b"})), Errc::invalid_argument);
}

TEST_F(MessagesTest, CopyAndMoveKeepFlagsAndShareTheBlob) {
  auto a = append(alice_, "INBOX", kMessage, {kSeen, {"Work"}, 1600000000});
  auto b = append(alice_, "INBOX", "Subject: b\r\n\r\nb\r\n");
  auto archive = box(alice_, "Archive");
  auto copied = ok(store().update([&](WriteTxn& t) {
    return copy_messages(t, a.mailbox, {b.uid, a.uid, 77}, archive);
  }));
  EXPECT_EQ(copied.source_uids, (std::vector<Uid>{1, 2}));
  EXPECT_EQ(copied.target_uids, (std::vector<Uid>{1, 2}));
  EXPECT_EQ(copied.target_uid_validity, archive.uid_validity);
  auto r = store().read();
  auto copy = *find_message(r, archive.id, 1);
  EXPECT_EQ(copy.flags, kSeen);
  EXPECT_EQ(copy.keywords, std::vector<std::string>{"Work"});
  EXPECT_EQ(copy.internal_date, 1600000000);
  EXPECT_EQ(blob_refcount(r, a.blob), 2u);
  EXPECT_EQ(usage_of(r, alice_).messages, 4u);

  auto bob_inbox = box(bob_, "INBOX");
  auto moved = ok(store().update([&](WriteTxn& t) { return move_messages(t, archive.id, {1}, bob_inbox); }));
  EXPECT_EQ(moved.target_uids, std::vector<Uid>{1});
  auto after = store().read();
  EXPECT_FALSE(find_message(after, archive.id, 1));
  EXPECT_TRUE(find_message(after, bob_inbox.id, 1));
  EXPECT_EQ(usage_of(after, alice_).messages, 3u);
  EXPECT_EQ(usage_of(after, bob_).messages, 1u);
  EXPECT_EQ(blob_refcount(after, a.blob), 2u);
}

// RFC 8514's save date: when a message came into its mailbox, whatever its internal date says;
// a copy's is the time of the copy. A store of format 3 keeps its message records, which read
// as having none (imapd then shows the internal date), until a change rewrites them.
TEST_F(MessagesTest, SaveDatesAreWhenAMessageCameIntoItsMailbox) {
  const std::int64_t before = std::time(nullptr);
  auto a = append(alice_, "INBOX", kMessage, {0, {}, 1600000000});
  EXPECT_EQ(a.internal_date, 1600000000);
  EXPECT_GE(a.saved, before);
  EXPECT_LE(a.saved, std::time(nullptr));
  auto archive = box(alice_, "Archive");
  ok(store().update([&](WriteTxn& t) { return copy_messages(t, a.mailbox, {a.uid}, archive); }));
  auto copy = *find_message(store().read(), archive.id, 1);
  EXPECT_EQ(copy.internal_date, 1600000000);
  EXPECT_GE(copy.saved, a.saved);
  EXPECT_EQ(find_message(store().read(), a.mailbox, a.uid)->saved, a.saved);  // read back as written

  {
    auto t = store().write();
    testing::downgrade_to_format_3(t);
    t.commit();
  }
  reopen();
  auto r = store().read();
  EXPECT_EQ(testing::schema_version(r), kSchemaVersion);
  auto old = *find_message(r, a.mailbox, a.uid);
  EXPECT_EQ(old.saved, 0);
  EXPECT_EQ(old.thread, 0u);  // nor a thread
  EXPECT_EQ(old.internal_date, 1600000000);
  EXPECT_EQ(old.blob, a.blob);
  EXPECT_EQ(old.modseq, a.modseq);
}

// RFC 8970: the preview is made once, when the message is stored, and travels with each copy;
// a record stored before previews were has none (imapd then makes it from the bytes).
TEST_F(MessagesTest, PreviewsAreMadeWhenAMessageIsStored) {
  auto a = append(alice_, "INBOX",
                  "From: bob@example.org\r\nContent-Type: text/html\r\n\r\n<p>See <b>you</b>\r\nat noon</p>\r\n");
  EXPECT_EQ(stored_preview(store().read(), a), "See you at noon");
  auto archive = box(alice_, "Archive");
  ok(store().update([&](WriteTxn& t) { return copy_messages(t, a.mailbox, {a.uid}, archive); }));
  auto copy = *find_message(store().read(), archive.id, 1);
  EXPECT_EQ(stored_preview(store().read(), copy), "See you at noon");
  auto empty = append(alice_, "INBOX", "Subject: nothing to read\r\n\r\n");
  EXPECT_EQ(stored_preview(store().read(), empty), "");

  {
    auto t = store().write();
    testing::strip_preview(t, a.mailbox, a.uid);
    t.commit();
  }
  auto r = store().read();
  EXPECT_EQ(stored_preview(r, a), std::nullopt);
  auto structure = message_structure(r, a);  // the rest of the record reads as before
  ASSERT_TRUE(structure);
  EXPECT_EQ(structure->subtype, "html");
  EXPECT_EQ(message_envelope(r, a)->from.at(0).mailbox, "bob");
  ok(store().update([&](WriteTxn& t) { return copy_messages(t, a.mailbox, {a.uid}, archive); }));
  EXPECT_EQ(stored_preview(store().read(), *find_message(store().read(), archive.id, 2)), std::nullopt);
}

// RFC 8474 THREADID: a reply joins the thread of what it names, whichever came first; a copy
// keeps its thread; another user's messages have threads of their own.
TEST_F(MessagesTest, RepliesShareTheirThread) {
  auto message = [](std::string_view id, std::string_view headers) {
    return fmt::format("Message-ID: <{}>\r\n{}Subject: x\r\n\r\nbody {}\r\n", id, headers, id);
  };
  auto root = append(alice_, "INBOX", message("root@x", ""));
  auto reply = append(alice_, "INBOX", message("reply@x", "In-Reply-To: <root@x>\r\n"));
  auto other = append(alice_, "INBOX", message("other@x", ""));
  EXPECT_NE(root.thread, 0u);
  EXPECT_EQ(reply.thread, root.thread);
  EXPECT_NE(other.thread, root.thread);
  // A reply deep in References, delivered before the message it answers: the late one joins it.
  auto early = append(alice_, "INBOX", message("early@x", "References: <root@x> <late@x>\r\n"));
  EXPECT_EQ(early.thread, root.thread);
  auto late = append(alice_, "Archive", message("late@x", ""));
  EXPECT_EQ(late.thread, root.thread);
  auto orphan_reply = append(alice_, "INBOX", message("r2@x", "References: <gone@x>\r\n"));
  auto orphan_parent = append(alice_, "INBOX", message("gone@x", ""));
  EXPECT_EQ(orphan_parent.thread, orphan_reply.thread);
  EXPECT_NE(orphan_reply.thread, root.thread);
  auto archive = box(alice_, "Archive");
  ok(store().update([&](WriteTxn& t) { return copy_messages(t, other.mailbox, {other.uid}, archive); }));
  EXPECT_EQ(find_message(store().read(), archive.id, 2)->thread, other.thread);
  auto bobs = append(bob_, "INBOX", message("reply2@x", "In-Reply-To: <root@x>\r\n"));
  EXPECT_NE(bobs.thread, root.thread);  // bob has not got the root: his reply starts his thread
  EXPECT_NE(bobs.thread, 0u);
}

TEST_F(MessagesTest, CopyOverQuotaCopiesNothing) {
  auto tiny = add("tiny@example.test", Quota{0, 1});
  auto a = append(alice_, "INBOX");
  append(alice_, "INBOX");
  auto target = box(tiny, "INBOX");
  auto t = store().write();
  EXPECT_EQ(error_of(copy_messages(t, a.mailbox, {1, 2}, target)), Errc::over_quota);
}

TEST_F(MessagesTest, ExpungeReleasesBlobsAndUsage) {
  auto a = append(alice_, "INBOX");
  auto b = append(alice_, "INBOX", kMessage);  // same bytes: same blob
  EXPECT_EQ(a.blob, b.blob);
  EXPECT_EQ(blob_refcount(store().read(), a.blob), 2u);
  auto removed = ok(store().update([&](WriteTxn& t) -> Result<std::vector<Uid>> {
    return expunge_messages(t, a.mailbox, {2, 5});
  }));
  EXPECT_EQ(removed, std::vector<Uid>{2});
  EXPECT_EQ(blob_refcount(store().read(), a.blob), 1u);
  ok(store().update([&](WriteTxn& t) -> Result<std::vector<Uid>> { return expunge_messages(t, a.mailbox, {1}); }));
  auto r = store().read();
  EXPECT_EQ(blob_refcount(r, a.blob), 0u);
  EXPECT_FALSE(read_blob(r, a.blob));
  EXPECT_EQ(usage_of(r, alice_).bytes, 0u);
  EXPECT_EQ(usage_of(r, alice_).messages, 0u);
  auto inbox = box(alice_, "INBOX");
  EXPECT_EQ(inbox.messages, 0u);
  EXPECT_EQ(inbox.uid_next, 3u);  // UIDs are not reused
  EXPECT_EQ(append(alice_, "INBOX").uid, 3u);
}

TEST_F(MessagesTest, ExpungeDeletedOnlyTouchesDeleted) {
  append(alice_, "INBOX", kMessage, {kDeleted, {}, 0});
  append(alice_, "INBOX", kMessage, {kSeen, {}, 0});
  append(alice_, "INBOX", kMessage, {kDeleted | kSeen, {}, 0});
  auto inbox = box(alice_, "INBOX");
  auto removed =
      ok(store().update([&](WriteTxn& t) -> Result<std::vector<Uid>> { return expunge_deleted(t, inbox.id); }));
  EXPECT_EQ(removed, (std::vector<Uid>{1, 3}));
  EXPECT_EQ(list_uids(store().read(), inbox.id), std::vector<Uid>{2});
}

TEST_F(MessagesTest, ChangeLogIsTrimmedToItsRetention) {
  constexpr std::int64_t kDay = 86400, kStart = 1800000000;
  auto trim = [&](std::int64_t now, std::size_t max = 1000) {
    return ok(
        store().update([&](WriteTxn& t) -> Result<std::size_t> { return trim_change_log(t, now, 30 * kDay, max); }));
  };
  auto first = append(alice_, "INBOX");
  append(alice_, "INBOX");
  ok(store().update(
      [&](WriteTxn& t) -> Result<std::vector<Uid>> { return expunge_messages(t, first.mailbox, {first.uid}); }));
  const auto old_changes = changes_since(store().read(), 0).size();
  const auto noted = last_modseq(store().read());
  EXPECT_EQ(trim(kStart), 0u);  // notes (now, modseq); nothing is old yet
  auto third = append(alice_, "INBOX");
  EXPECT_EQ(trim(kStart + kDay), 0u);
  EXPECT_EQ(trim(kStart + 30 * kDay - 1), 0u);
  EXPECT_EQ(change_log_floor(store().read()), 0u);
  // 30 days after the first note, what it covered goes, in batches; newer entries stay
  EXPECT_EQ(trim(kStart + 30 * kDay, 2), 2u);
  EXPECT_GT(change_log_floor(store().read()), 0u);
  EXPECT_LT(change_log_floor(store().read()), noted);
  EXPECT_EQ(trim(kStart + 30 * kDay, 1000), old_changes - 2);
  EXPECT_EQ(change_log_floor(store().read()), noted);
  EXPECT_EQ(trim(kStart + 30 * kDay), 0u);
  auto left = changes_since(store().read(), 0);
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].uid, third.uid);
  EXPECT_GT(left[0].modseq, noted);
  // The day-later note covered the third append: it goes 30 days after that note
  EXPECT_EQ(trim(kStart + 31 * kDay), 1u);
  EXPECT_TRUE(changes_since(store().read(), 0).empty());
  EXPECT_EQ(last_modseq(store().read()), left[0].modseq);  // the counter itself never goes back
}

TEST_F(MessagesTest, ChangeLogRecordsEveryChangeInOrder) {
  auto start = last_modseq(store().read());
  auto m = append(alice_, "INBOX");
  ok(store().update([&](WriteTxn& t) { return store_flags(t, m.mailbox, m.uid, FlagOperation::add, kSeen, {}); }));
  ok(store().update([&](WriteTxn& t) -> Result<std::vector<Uid>> { return expunge_messages(t, m.mailbox, {m.uid}); }));
  auto r = store().read();
  auto changes = changes_since(r, start);
  ASSERT_EQ(changes.size(), 3u);
  EXPECT_EQ(changes[0].kind, ChangeKind::appended);
  EXPECT_EQ(changes[1].kind, ChangeKind::flags);
  EXPECT_EQ(changes[2].kind, ChangeKind::expunged);
  for (const auto& c : changes) {
    EXPECT_EQ(c.user, alice_);
    EXPECT_EQ(c.mailbox, m.mailbox);
    EXPECT_EQ(c.uid, m.uid);
  }
  EXPECT_LT(changes[0].modseq, changes[1].modseq);
  EXPECT_LT(changes[1].modseq, changes[2].modseq);
  EXPECT_EQ(last_modseq(r), changes[2].modseq);
  EXPECT_EQ(changes_since(r, changes[1].modseq).size(), 1u);
  EXPECT_EQ(changes_since(r, start, 2).size(), 2u);
}

TEST_F(MessagesTest, RenameKeepsUidsAndMovesChildren) {
  ok(store().update([&](WriteTxn& t) { return create_mailbox(t, alice_, "Work/Old/Deep"); }));
  auto m = append(alice_, "Work/Old");
  auto before = box(alice_, "Work/Old");
  ok(store().update([&](WriteTxn& t) { return rename_mailbox(t, alice_, "Work/Old", "Done/2026"); }));
  auto after = box(alice_, "Done/2026");
  EXPECT_EQ(after.id, before.id);
  EXPECT_EQ(after.uid_validity, before.uid_validity);
  EXPECT_TRUE(find_message(store().read(), after.id, m.uid));
  EXPECT_TRUE(find_mailbox(store().read(), alice_, "Done/2026/Deep"));
  EXPECT_TRUE(find_mailbox(store().read(), alice_, "Done"));
  EXPECT_FALSE(find_mailbox(store().read(), alice_, "Work/Old"));
  EXPECT_FALSE(find_mailbox(store().read(), alice_, "Work/Old/Deep"));
  auto t = store().write();
  EXPECT_EQ(error_of(rename_mailbox(t, alice_, "Done", "Sent")), Errc::already_exists);
  EXPECT_EQ(error_of(rename_mailbox(t, alice_, "Done", "Done/Inner")), Errc::invalid_argument);
  EXPECT_EQ(error_of(rename_mailbox(t, alice_, "Nope", "X")), Errc::not_found);
}

TEST_F(MessagesTest, RenamingInboxMovesItsMessages) {
  ok(store().update([&](WriteTxn& t) { return create_mailbox(t, alice_, "INBOX/Child"); }));
  append(alice_, "INBOX");
  append(alice_, "INBOX");
  ok(store().update([&](WriteTxn& t) { return rename_mailbox(t, alice_, "inbox", "Old Inbox"); }));
  auto r = store().read();
  auto inbox = ok(find_mailbox(r, alice_, "INBOX"));
  auto old = ok(find_mailbox(r, alice_, "Old Inbox"));
  EXPECT_EQ(inbox.messages, 0u);
  EXPECT_TRUE(list_uids(r, inbox.id).empty());
  EXPECT_EQ(list_uids(r, old.id), (std::vector<Uid>{1, 2}));
  EXPECT_TRUE(find_mailbox(r, alice_, "INBOX/Child"));  // children stay
  EXPECT_EQ(usage_of(r, alice_).messages, 2u);
}

TEST_F(MessagesTest, DeleteMailbox) {
  ok(store().update([&](WriteTxn& t) { return create_mailbox(t, alice_, "Parent/Child"); }));
  auto m = append(alice_, "Parent");
  append(alice_, "Parent/Child");
  ok(store().update([&](WriteTxn& t) { return delete_mailbox(t, alice_, "Parent"); }));
  auto parent = box(alice_, "Parent");
  EXPECT_TRUE(parent.noselect);  // has a child: kept, emptied, \Noselect
  EXPECT_EQ(parent.messages, 0u);
  EXPECT_EQ(blob_refcount(store().read(), m.blob), 1u);  // the child's copy of the same bytes
  {
    auto t = store().write();
    EXPECT_EQ(error_of(delete_mailbox(t, alice_, "Parent")), Errc::not_empty);
    EXPECT_EQ(error_of(delete_mailbox(t, alice_, "INBOX")), Errc::invalid_argument);
    EXPECT_EQ(error_of(append_message(t, parent, prepare_message(kMessage))), Errc::invalid_argument);
  }
  ok(store().update([&](WriteTxn& t) { return delete_mailbox(t, alice_, "Parent/Child"); }));
  ok(store().update([&](WriteTxn& t) { return delete_mailbox(t, alice_, "Parent"); }));
  auto r = store().read();
  EXPECT_FALSE(find_mailbox(r, alice_, "Parent"));
  EXPECT_EQ(blob_refcount(r, m.blob), 0u);
  EXPECT_EQ(usage_of(r, alice_).messages, 0u);
}

TEST_F(MessagesTest, CreateOverANoselectMailboxRevivesIt) {
  ok(store().update([&](WriteTxn& t) { return create_mailbox(t, alice_, "P/C"); }));
  ok(store().update([&](WriteTxn& t) { return delete_mailbox(t, alice_, "P"); }));
  auto revived = ok(store().update([&](WriteTxn& t) { return create_mailbox(t, alice_, "P"); }));
  EXPECT_FALSE(revived.noselect);
}

TEST_F(MessagesTest, RemovingAUserReleasesItsMessages) {
  auto m = append(alice_, "INBOX");
  ok(store().update([&](WriteTxn& t) { return remove_user(t, alice_); }));
  EXPECT_EQ(blob_refcount(store().read(), m.blob), 0u);
}

void expect_same_structure(const mime::Part& a, const mime::Part& b) {
  EXPECT_EQ(a.type, b.type);
  EXPECT_EQ(a.subtype, b.subtype);
  EXPECT_EQ(a.parameters, b.parameters);
  EXPECT_EQ(a.header, b.header);
  EXPECT_EQ(a.body, b.body);
  EXPECT_EQ(a.encoding, b.encoding);
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.disposition, b.disposition);
  EXPECT_EQ(a.disposition_parameters, b.disposition_parameters);
  EXPECT_EQ(a.body_lines, b.body_lines);
  EXPECT_EQ(a.fields.size(), b.fields.size());
  ASSERT_EQ(a.envelope.has_value(), b.envelope.has_value());
  if (a.envelope) {
    EXPECT_EQ(a.envelope->subject, b.envelope->subject);
    EXPECT_EQ(a.envelope->from, b.envelope->from);
    EXPECT_EQ(a.envelope->to, b.envelope->to);
    EXPECT_EQ(a.envelope->message_id, b.envelope->message_id);
  }
  ASSERT_EQ(a.children.size(), b.children.size());
  for (std::size_t i = 0; i < a.children.size(); ++i) expect_same_structure(a.children[i], b.children[i]);
}

TEST_F(MessagesTest, StructureIsComputedOnceAndStoredWithTheMessage) {
  const std::string bytes =
      "From: Alice <alice@example.test>\r\nTo: bob@example.test\r\nSubject: report\r\n"
      "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
      "see attached\r\n--b\r\nContent-Type: application/pdf; name=r.pdf\r\nContent-Disposition: attachment; "
      "filename=r.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n--b--\r\n";
  auto m = append(alice_, "INBOX", bytes);
  auto stored = message_structure(store().read(), m);
  ASSERT_TRUE(stored);
  expect_same_structure(*stored, mime::parse_message(bytes));
  EXPECT_EQ(stored->children[1].disposition_parameters, (mime::Parameters{{"filename", "r.pdf"}}));
  // The envelope alone, read past the rest of the record
  auto envelope = message_envelope(store().read(), m);
  ASSERT_TRUE(envelope);
  EXPECT_EQ(envelope->subject, std::optional<std::string>("report"));
  ASSERT_EQ(envelope->from.size(), 1u);
  EXPECT_EQ(envelope->from[0].name, "Alice");
  EXPECT_EQ(envelope->from[0].host, "example.test");
  EXPECT_EQ(envelope->to[0].mailbox, "bob");
  EXPECT_EQ(envelope->date, stored->envelope->date);
  ok(store().update([&](WriteTxn& t) -> Result<std::vector<Uid>> { return expunge_messages(t, m.mailbox, {m.uid}); }));
  EXPECT_FALSE(message_structure(store().read(), m));
  EXPECT_FALSE(message_envelope(store().read(), m));
}

// Turns the store back into format 1 (one structure record per blob, in `blob_meta`), as
// mailstead 0.1 wrote it.
void downgrade_to_format_1(Store& store) {
  auto t = store.write();
  testing::downgrade_to_format_1(t);
  t.commit();
}

TEST_F(MessagesTest, AFormat1StoreIsUpgradedWhenOpenedEvenWhenTheMapMustGrow) {
  std::string big_header;
  for (int i = 0; i < 60; ++i) big_header += fmt::format("X-Field-{}: {}\r\n", i, std::string(60, 'v'));
  std::vector<Message> messages;
  std::map<std::pair<MailboxId, Uid>, std::string> subjects;
  for (int i = 0; i < 40; ++i) {
    auto bytes = fmt::format("Subject: message {}\r\n{}\r\nbody {}\r\n", i, big_header, i);
    messages.push_back(append(alice_, "INBOX", bytes));
  }
  // A blob shared by two mailboxes of two users, and a copy: one format-1 record serves them all.
  std::vector<DeliveryOutcome> delivered;
  ok(store().update([&](WriteTxn& t) -> Result<void> {
    delivered = deliver_message(t, prepare_message("Subject: shared\r\n\r\nto both\r\n"), {alice_, bob_});
    return {};
  }));
  for (const auto& d : delivered) messages.push_back(ok(d.result));
  auto copied = ok(store().update([&](WriteTxn& t) {
    return copy_messages(t, messages.front().mailbox, {messages.front().uid}, box(bob_, "Archive"));
  }));
  messages.push_back(*find_message(store().read(), box(bob_, "Archive").id, copied.target_uids.at(0)));
  for (const auto& m : messages)
    subjects[{m.mailbox, m.uid}] = message_structure(store().read(), m)->envelope->subject.value();

  downgrade_to_format_1(store());
  // A compacted copy of it, opened with a map just big enough for what it holds: converting it
  // needs more, so the open has to grow the map.
  auto old_dir = dir_.string() + "-format1";
  std::filesystem::remove_all(old_dir);
  std::filesystem::create_directories(old_dir);
  {
    int fd = ::open((old_dir + "/data.mdb").c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
    ASSERT_GE(fd, 0);
    store().copy_to(fd);
    ::close(fd);
  }
  store_.reset();
  options_.dir = old_dir;
  options_.map_size = std::filesystem::file_size(old_dir + "/data.mdb");
  auto initial_map = options_.map_size;
  store();
  EXPECT_GT(store().map_size(), initial_map);
  {
    auto txn = store().read();
    for (const auto& m : messages) {
      auto structure = message_structure(txn, m);
      ASSERT_TRUE(structure) << m.mailbox << "/" << m.uid;
      EXPECT_EQ(structure->envelope->subject.value(), (subjects[{m.mailbox, m.uid}]));
    }
    EXPECT_FALSE(testing::has_table(txn, "blob_meta"));
    EXPECT_EQ(testing::schema_version(txn), kSchemaVersion);
  }
  reopen();  // opens as format 2 without converting again
  EXPECT_TRUE(message_structure(store().read(), messages.back()));
  // Expunging the last reference still frees the blob.
  ok(store().update([&](WriteTxn& t) -> Result<std::vector<Uid>> {
    return expunge_messages(t, delivered[0].result->mailbox, {delivered[0].result->uid});
  }));
  ok(store().update([&](WriteTxn& t) -> Result<std::vector<Uid>> {
    return expunge_messages(t, delivered[1].result->mailbox, {delivered[1].result->uid});
  }));
  EXPECT_EQ(blob_refcount(store().read(), delivered[0].result->blob), 0u);
  store_.reset();
  std::filesystem::remove_all(old_dir);
}

// Random sequences of append / flag / copy / move / expunge keep the invariants: UIDs strictly
// increasing and below UIDNEXT, modseqs increasing, every blob's count equal to the records
// that refer to it, usage and mailbox counters equal to the sums of their messages.
TEST_F(MessagesTest, RandomOperationsKeepTheInvariants) {
  std::mt19937 rng(20261124);
  std::vector<Mailbox> boxes;
  for (auto user : {alice_, bob_})
    for (auto name : {"INBOX", "Archive", "Trash"}) boxes.push_back(box(user, name));
  std::map<MailboxId, Uid> highest_uid_seen;
  std::uint64_t last = last_modseq(store().read());
  for (int step = 0; step < 600; ++step) {
    const auto& from = boxes[rng() % boxes.size()];
    const auto& to = boxes[rng() % boxes.size()];
    auto uids = list_uids(store().read(), from.id);
    Uid some = uids.empty() ? 1 : uids[rng() % uids.size()];
    switch (rng() % 6) {
      case 0:
      case 1:
        append(from.user, from.name, fmt::format("Subject: {}\r\n\r\n{}\r\n", rng() % 20, step % 7));
        break;
      case 2:
        ok(store().update([&](WriteTxn& t) -> Result<void> {
          if (auto r = store_flags(t, from.id, some, FlagOperation::add, 1u << (rng() % 5), {});
              !r && r.error().code != Errc::not_found)
            return r.error();
          return {};
        }));
        break;
      case 3:
        ok(store().update([&](WriteTxn& t) { return copy_messages(t, from.id, {some}, to); }));
        break;
      case 4:
        if (from.id != to.id) ok(store().update([&](WriteTxn& t) { return move_messages(t, from.id, {some}, to); }));
        break;
      case 5:
        ok(store().update(
            [&](WriteTxn& t) -> Result<std::vector<Uid>> { return expunge_messages(t, from.id, {some}); }));
        break;
    }
    auto now = last_modseq(store().read());
    EXPECT_GE(now, last);
    last = now;
  }
  auto r = store().read();
  auto verdict = check_store(r);
  EXPECT_TRUE(verdict.problems.empty()) << fmt::format("{}", fmt::join(verdict.problems, "; "));
  std::map<std::string, std::uint32_t> references;
  std::map<UserId, Usage> usage;
  for (const auto& b : boxes) {
    auto current = ok(mailbox_by_id(r, b.id));
    Uid previous = 0;
    std::uint64_t count = 0, bytes = 0, max_modseq = 0;
    for_each_message(r, b.id, [&](const Message& m) {
      EXPECT_GT(m.uid, previous);
      EXPECT_LT(m.uid, current.uid_next);
      previous = m.uid;
      references[m.blob.hex()] += 1;
      count += 1;
      bytes += m.size;
      max_modseq = std::max(max_modseq, m.modseq);
      EXPECT_EQ(read_blob(r, m.blob)->size(), m.size);
      return true;
    });
    EXPECT_EQ(current.messages, count);
    EXPECT_EQ(current.bytes, bytes);
    EXPECT_GE(current.highest_modseq, max_modseq);
    usage[current.user].messages += count;
    usage[current.user].bytes += bytes;
  }
  for (const auto& b : boxes) {
    for_each_message(r, b.id, [&](const Message& m) {
      EXPECT_EQ(blob_refcount(r, m.blob), references[m.blob.hex()]) << m.blob.hex();
      return true;
    });
  }
  for (auto user : {alice_, bob_}) {
    EXPECT_EQ(usage_of(r, user).messages, usage[user].messages);
    EXPECT_EQ(usage_of(r, user).bytes, usage[user].bytes);
  }
}

// `mailstead check` over what the random operations above leave, and over a damaged store.
TEST_F(MessagesTest, CheckFindsTheStoreConsistentAndReportsDamage) {
  append(alice_, "INBOX");
  append(alice_, "Archive", "Subject: two\r\n\r\nx\r\n");
  ok(store().update([&](WriteTxn& t) { return copy_messages(t, box(alice_, "INBOX").id, {1}, box(bob_, "INBOX")); }));
  auto verdict = check_store(store().read());
  EXPECT_TRUE(verdict.problems.empty()) << verdict.problems.front();
  EXPECT_EQ(verdict.users, 2u);
  EXPECT_EQ(verdict.messages, 3u);
  EXPECT_EQ(verdict.blobs, 2u);
  auto inbox = box(alice_, "INBOX");
  ok(store().update([&](WriteTxn& t) -> Result<void> {
    testing::damage_structure(t, inbox.id, 1);
    return {};
  }));
  verdict = check_store(store().read());
  ASSERT_EQ(verdict.problems.size(), 1u);
  EXPECT_NE(verdict.problems[0].find(fmt::format("message {}/1", inbox.id)), std::string::npos) << verdict.problems[0];
}

TEST_F(MessagesTest, TheTextIndexMovesForwardOnceAndGoesWithItsMailbox) {
  ok(store().update([this](WriteTxn& t) { return create_mailbox(t, alice_, "Lists"); }));
  auto lists = box(alice_, "Lists");
  auto inbox = box(alice_, "INBOX");
  for (int i = 0; i < 3; ++i) append(alice_, "Lists");
  append(alice_, "INBOX");
  {
    auto txn = store().read();
    EXPECT_EQ(text_index_state(txn, lists.id).through, 0u);
    auto lag = text_index_lag(txn, 1);
    ASSERT_EQ(lag.size(), 2u);
    EXPECT_EQ(lag[0].mailbox, inbox.id);  // fewest behind first
    EXPECT_EQ(lag[1].behind, 3u);
  }
  auto extend = [&](TextIndexState expected, TextIndexState next, std::vector<std::pair<Uid, std::string>> segments) {
    bool done = false;
    ok(store().update([&](WriteTxn& t) -> Result<void> {
      done = extend_text_index(t, lists.id, expected, next, segments);
      return {};
    }));
    return done;
  };
  EXPECT_TRUE(extend({0, 0}, {2, 1}, {{1, "first two"}}));
  EXPECT_FALSE(extend({0, 0}, {3, 1}, {{1, "again"}}));  // another indexer got there first: nothing written
  EXPECT_TRUE(extend({2, 1}, {3, 1}, {{1, "first three"}, {3, "third"}}));
  {
    auto txn = store().read();
    auto state = text_index_state(txn, lists.id);
    EXPECT_EQ(state.through, 3u);
    EXPECT_EQ(state.version, 1u);
    auto segments = text_index_segments(txn, lists.id);
    ASSERT_EQ(segments.size(), 2u);
    EXPECT_EQ(segments[0].first, 1u);
    EXPECT_EQ(segments[0].bytes, "first three");
    EXPECT_TRUE(text_index_segments(txn, inbox.id).empty());
    ASSERT_EQ(text_index_lag(txn, 1).size(), 1u);  // Lists is caught up
    ASSERT_EQ(text_index_lag(txn, 2).size(), 2u);  // but not for a reader of another version
  }
  // A new version starts over: what the old one wrote goes.
  EXPECT_TRUE(extend({3, 1}, {1, 2}, {{1, "version two"}}));
  {
    auto txn = store().read();
    auto segments = text_index_segments(txn, lists.id);
    ASSERT_EQ(segments.size(), 1u);
    EXPECT_EQ(segments[0].bytes, "version two");
    EXPECT_EQ(text_index_state(txn, lists.id).version, 2u);
  }
  ok(store().update([this](WriteTxn& t) { return delete_mailbox(t, alice_, "Lists"); }));
  auto txn = store().read();
  EXPECT_EQ(text_index_state(txn, lists.id).through, 0u);
  EXPECT_TRUE(text_index_segments(txn, lists.id).empty());
  EXPECT_FALSE(extend({0, 0}, {1, 2}, {}));  // the mailbox is gone
}

}  // namespace
}  // namespace mailstead::storage
