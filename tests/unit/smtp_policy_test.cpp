#include <gtest/gtest.h>

#include "smtpd/message_edit.hpp"
#include "smtpd/policy.hpp"
#include "storage/messages.hpp"
#include "storage_fixture.hpp"

namespace mailstead::smtp {
namespace {

using storage::testing::ok;

class PolicyTest : public storage::testing::StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    ok(store().update([&](storage::WriteTxn& t) -> storage::Result<void> {
      ok(storage::add_domain(t, "example.test"));
      alice_ = ok(storage::add_user(t, "alice@example.test", "h", {})).id;
      bob_ = ok(storage::add_user(t, "bob@example.test", "h", {0, 1})).id;
      ok(storage::add_alias_targets(t, "me@example.test", {"alice@example.test"}));
      ok(storage::add_alias_targets(t, "team@example.test", {"alice@example.test", "bob@example.test"}));
      ok(storage::add_alias_targets(t, "fwd@example.test", {"alice@example.test", "carol@remote.example"}));
      return {};
    }));
  }

  RecipientDecision decide(std::string_view address, bool may_relay = false) {
    return decide_recipient(store().read(), *parse_mailbox(address), may_relay, 0);
  }

  storage::UserId alice_ = 0, bob_ = 0;
};

TEST_F(PolicyTest, LocalRecipients) {
  auto d = decide("Alice@Example.Test");
  EXPECT_EQ(d.verdict, RecipientVerdict::accepted);
  EXPECT_EQ(d.users, std::vector<storage::UserId>{alice_});
  EXPECT_EQ(decide("alice+lists@example.test").users, std::vector<storage::UserId>{alice_});
  EXPECT_EQ(decide("team@example.test").users, (std::vector<storage::UserId>{alice_, bob_}));
  EXPECT_EQ(decide("nobody@example.test").verdict, RecipientVerdict::unknown_user);
}

TEST_F(PolicyTest, ForwardingAliasesAreNotRelaying) {
  auto d = decide("fwd@example.test");
  EXPECT_EQ(d.verdict, RecipientVerdict::accepted);
  EXPECT_EQ(d.remote, std::vector<std::string>{"carol@remote.example"});
}

TEST_F(PolicyTest, RemoteOnlyForThoseWhoMayRelay) {
  EXPECT_EQ(decide("carol@remote.example").verdict, RecipientVerdict::relay_denied);
  EXPECT_EQ(decide("carol%remote.example@example.test").verdict, RecipientVerdict::unknown_user);
  EXPECT_EQ(decide("\"carol@remote.example\"@example.test").verdict, RecipientVerdict::unknown_user);
  EXPECT_EQ(decide("user@[192.0.2.1]", true).verdict, RecipientVerdict::invalid_domain);
  auto relayed = decide("carol@remote.example", true);
  EXPECT_EQ(relayed.verdict, RecipientVerdict::accepted);
  EXPECT_EQ(relayed.remote, std::vector<std::string>{"carol@remote.example"});
}

TEST_F(PolicyTest, FullMailboxesAreRefusedForNow) {
  ok(store().update([&](storage::WriteTxn& t) -> storage::Result<void> {
    ok(storage::deliver_message(t, storage::prepare_message("Subject: x\r\n\r\nx\r\n"), {bob_})[0].result);
    return {};
  }));
  EXPECT_EQ(decide("bob@example.test").verdict, RecipientVerdict::over_quota);
  EXPECT_EQ(decide("team@example.test").verdict, RecipientVerdict::over_quota);
}

TEST_F(PolicyTest, SenderOwnership) {
  auto r = store().read();
  EXPECT_TRUE(address_belongs_to(r, "alice@example.test", alice_));
  EXPECT_TRUE(address_belongs_to(r, "ALICE+x@example.test", alice_));
  EXPECT_TRUE(address_belongs_to(r, "me@example.test", alice_));
  EXPECT_FALSE(address_belongs_to(r, "team@example.test", alice_));  // shared with bob
  EXPECT_FALSE(address_belongs_to(r, "fwd@example.test", alice_));   // reaches someone else too
  EXPECT_FALSE(address_belongs_to(r, "bob@example.test", alice_));
  EXPECT_FALSE(address_belongs_to(r, "alice@remote.example", alice_));
  // A quoted local part is the same address as its unquoted form (RFC 5321 §4.1.2).
  EXPECT_TRUE(address_belongs_to(r, "\"alice\"@example.test", alice_));
  EXPECT_TRUE(address_belongs_to(r, "\"al\\ice\"@example.test", alice_));
  EXPECT_FALSE(address_belongs_to(r, "\"bob\"@example.test", alice_));
}

TEST(MessageEdit, ReceivedFieldAndDate) {
  ReceivedInfo info{"client.example.org\r\nX-Injected: yes",
                    "192.0.2.7",
                    "",
                    "mail.example.test",
                    "ESMTPS",
                    "TLSv1.3 TLS_AES_256_GCM_SHA384",
                    "0a1b2c3d",
                    "alice@example.test",
                    1795515049,
                    "",
                    std::nullopt};
  auto field = received_field(info);
  EXPECT_EQ(field,
            "Received: from client.example.org__X-Injected:_yes ([192.0.2.7])\r\n"
            "\tby mail.example.test (mailstead) with ESMTPS\r\n"
            "\t(using TLSv1.3 TLS_AES_256_GCM_SHA384)\r\n"
            "\tid 0a1b2c3d\r\n"
            "\tfor <alice@example.test>; Tue, 24 Nov 2026 10:10:49 +0000\r\n");
  EXPECT_EQ(rfc5322_date(0), "Thu, 1 Jan 1970 00:00:00 +0000");
  // A forward-confirmed reverse name goes before the address (RFC 5321 §4.4's TCP-info).
  info.client_name = "mx.example.org";
  EXPECT_EQ(received_field(info).substr(0, 70),
            "Received: from client.example.org__X-Injected:_yes (mx.example.org [19");
  info.client_name.clear();
  info.authenticated = "alice@example.test";
  EXPECT_NE(received_field(info).find(
                "\t(using TLSv1.3 TLS_AES_256_GCM_SHA384)\r\n\t(authenticated as alice@example.test)\r\n"),
            std::string::npos);
}

TEST(MessageEdit, ReceivedFieldOfALocalProgramNamesItsUid) {
  ReceivedInfo info{"localhost", "0.0.0.0", "",   "mail.example.test", "ESMTP", "", "0a1b2c3d", "",
                    1795515049,  "",        1000u};
  EXPECT_EQ(received_field(info),
            "Received: from localhost\r\n"
            "\tby mail.example.test (mailstead, from userid 1000) with ESMTP\r\n"
            "\tid 0a1b2c3d; Tue, 24 Nov 2026 10:10:49 +0000\r\n");
}

TEST(MessageEdit, CountsHeaderFieldsOnly) {
  std::string m =
      "Received: a\r\nreceived: b\r\nSubject: x\r\nDATE: now\r\nSender: s@x\r\n\r\n"
      "Received: in the body\r\nMessage-ID: <also@body>\r\n";
  auto measure = measure_header(m);
  EXPECT_EQ(measure.received, 2u);
  EXPECT_EQ(measure.date, 1u);
  EXPECT_EQ(measure.sender, 1u);
  EXPECT_EQ(measure.message_id, 0u);
  EXPECT_EQ(measure.from, 0u);
  EXPECT_EQ(measure.fields, 5u);
}

TEST(MessageEdit, MeasuresEveryFieldOfTheHeader) {
  std::string m;
  for (int i = 0; i < 5000; ++i) m += "X: y\r\n";
  m += "From: a@x\r\n folded\r\nfrom: b@y\r\nMessage-Id: <1@x>\r\n\r\nFrom: in the body\r\n";
  auto measure = measure_header(m);
  EXPECT_EQ(measure.fields, 5003u);
  EXPECT_EQ(measure.from, 2u);
  EXPECT_EQ(measure.message_id, 1u);
  EXPECT_EQ(measure.bytes, m.find("From: in the body"));
}

}  // namespace
}  // namespace mailstead::smtp
