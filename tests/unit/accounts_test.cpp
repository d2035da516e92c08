#include "storage/accounts.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "storage/mailboxes.hpp"
#include "storage_fixture.hpp"

namespace mailstead::storage {
namespace {

using testing::error_of;
using testing::ok;

class AccountsTest : public testing::StoreTest {
 protected:
  // Runs `body` in a committed write transaction.
  template <class Body>
  auto write(Body&& body) {
    auto txn = store().write();
    auto result = body(txn);
    txn.commit();
    return result;
  }

  UserId add(std::string_view address) {
    return write([&](WriteTxn& t) { return ok(add_user(t, address, "$y$hash", {})).id; });
  }

  void SetUp() override {
    StoreTest::SetUp();
    write([](WriteTxn& t) {
      ok(add_domain(t, "example.test"));
      return ok(add_domain(t, "Other.Example"));
    });
  }

  Resolution resolve_now(std::string_view address) { return resolve(store().read(), address); }
};

TEST_F(AccountsTest, DomainsAreNormalizedAndListed) {
  auto r = store().read();
  EXPECT_EQ(list_domains(r), (std::vector<std::string>{"example.test", "other.example"}));
  EXPECT_TRUE(is_local_domain(r, "EXAMPLE.test."));
  EXPECT_FALSE(is_local_domain(r, "example.org"));
}

TEST_F(AccountsTest, DomainErrors) {
  auto t = store().write();
  EXPECT_EQ(error_of(add_domain(t, "example.TEST")), Errc::already_exists);
  EXPECT_EQ(error_of(add_domain(t, "bad domain")), Errc::invalid_argument);
  EXPECT_EQ(error_of(remove_domain(t, "example.org")), Errc::not_found);
}

TEST_F(AccountsTest, DomainWithUsersCannotBeRemoved) {
  add("alice@example.test");
  auto t = store().write();
  EXPECT_EQ(error_of(remove_domain(t, "example.test")), Errc::not_empty);
  ok(remove_domain(t, "other.example"));
  EXPECT_EQ(list_domains(t), std::vector<std::string>{"example.test"});
}

TEST_F(AccountsTest, UsersKeepTheirAddressAndMatchCaseInsensitively) {
  auto id = add("Alice.Smith@EXAMPLE.test");
  auto r = store().read();
  auto user = ok(find_user(r, "alice.smith@example.TEST"));
  EXPECT_EQ(user.id, id);
  EXPECT_EQ(user.address, "Alice.Smith@example.test");
  EXPECT_EQ(user.password_hash, "$y$hash");
  EXPECT_TRUE(user.enabled);
  EXPECT_EQ(ok(user_by_id(r, id)).address, user.address);
}

TEST_F(AccountsTest, CaseSensitiveLocalPartsWhenConfigured) {
  options_.addresses.case_sensitive_local_parts = true;
  reopen();
  add("Alice@example.test");
  auto r = store().read();
  EXPECT_TRUE(find_user(r, "Alice@example.test"));
  EXPECT_EQ(error_of(find_user(r, "alice@example.test")), Errc::not_found);
}

TEST_F(AccountsTest, UserErrors) {
  add("alice@example.test");
  auto t = store().write();
  EXPECT_EQ(error_of(add_user(t, "ALICE@example.test", "h", {})), Errc::already_exists);
  EXPECT_EQ(error_of(add_user(t, "bob@example.org", "h", {})), Errc::not_found);
  EXPECT_EQ(error_of(add_user(t, "bob", "h", {})), Errc::invalid_argument);
  EXPECT_EQ(error_of(add_user(t, "b ob@example.test", "h", {})), Errc::invalid_argument);
  EXPECT_EQ(error_of(find_user(t, "nobody@example.test")), Errc::not_found);
  EXPECT_EQ(error_of(user_by_id(t, 999)), Errc::not_found);
}

TEST_F(AccountsTest, IdsAreNeverReused) {
  auto a = add("a@example.test");
  write([&](WriteTxn& t) {
    ok(remove_user(t, a));
    return 0;
  });
  auto b = add("a@example.test");
  EXPECT_GT(b, a);
}

TEST_F(AccountsTest, NewUsersGetTheStandardMailboxes) {
  auto id = add("alice@example.test");
  auto boxes = list_mailboxes(store().read(), id);
  ASSERT_EQ(boxes.size(), 6u);
  std::vector<std::pair<std::string, std::string_view>> seen;
  for (const auto& m : boxes) {
    seen.emplace_back(m.name, to_imap_attribute(m.special_use));
    EXPECT_TRUE(is_subscribed(store().read(), id, m.name));
    EXPECT_EQ(m.uid_next, 1u);
  }
  EXPECT_EQ(seen, (std::vector<std::pair<std::string, std::string_view>>{{"INBOX", ""},
                                                                         {"Archive", "\\Archive"},
                                                                         {"Drafts", "\\Drafts"},
                                                                         {"Junk", "\\Junk"},
                                                                         {"Sent", "\\Sent"},
                                                                         {"Trash", "\\Trash"}}));
}

TEST_F(AccountsTest, PasswordQuotaAndEnabledChange) {
  auto id = add("alice@example.test");
  write([&](WriteTxn& t) {
    ok(set_password_hash(t, id, "$6$new"));
    ok(set_quota(t, id, Quota{1 << 20, 500}));
    ok(set_enabled(t, id, false));
    return 0;
  });
  auto user = ok(user_by_id(store().read(), id));
  EXPECT_EQ(user.password_hash, "$6$new");
  EXPECT_EQ(user.quota.bytes, 1u << 20);
  EXPECT_EQ(user.quota.messages, 500u);
  EXPECT_FALSE(user.enabled);
}

TEST_F(AccountsTest, RemovingAUserRemovesItsMailboxes) {
  auto id = add("alice@example.test");
  write([&](WriteTxn& t) {
    ok(remove_user(t, id));
    return 0;
  });
  auto r = store().read();
  EXPECT_EQ(error_of(find_user(r, "alice@example.test")), Errc::not_found);
  EXPECT_TRUE(list_mailboxes(r, id).empty());
  EXPECT_EQ(error_of(find_mailbox(r, id, "INBOX")), Errc::not_found);
}

TEST_F(AccountsTest, ListsUsersByDomain) {
  add("zed@example.test");
  add("amy@other.example");
  add("bob@example.test");
  auto r = store().read();
  std::vector<std::string> all, one;
  for (const auto& u : list_users(r)) all.push_back(u.address);
  for (const auto& u : list_users(r, "EXAMPLE.TEST")) one.push_back(u.address);
  EXPECT_EQ(all, (std::vector<std::string>{"bob@example.test", "zed@example.test", "amy@other.example"}));
  EXPECT_EQ(one, (std::vector<std::string>{"bob@example.test", "zed@example.test"}));
}

TEST_F(AccountsTest, AliasesMergeAndRemoveTargets) {
  write([](WriteTxn& t) {
    ok(add_alias_targets(t, "team@example.test", {"alice@example.test", "bob@example.org"}));
    return ok(add_alias_targets(t, "TEAM@example.test", {"carol@Example.Test", "alice@example.test"}));
  });
  auto aliases = list_aliases(store().read());
  ASSERT_EQ(aliases.size(), 1u);
  EXPECT_EQ(aliases[0].address, "team@example.test");
  EXPECT_EQ(aliases[0].targets,
            (std::vector<std::string>{"alice@example.test", "bob@example.org", "carol@example.test"}));
  write([](WriteTxn& t) { return ok(remove_alias_target(t, "team@example.test", "BOB@example.org")); });
  EXPECT_EQ(list_aliases(store().read())[0].targets.size(), 2u);
  write([](WriteTxn& t) {
    ok(remove_alias(t, "team@example.test"));
    return 0;
  });
  EXPECT_TRUE(list_aliases(store().read()).empty());
}

TEST_F(AccountsTest, AliasErrors) {
  add("alice@example.test");
  auto t = store().write();
  EXPECT_EQ(error_of(add_alias_targets(t, "alice@example.test", {"bob@example.test"})), Errc::already_exists);
  EXPECT_EQ(error_of(add_alias_targets(t, "x@example.org", {"bob@example.test"})), Errc::not_found);
  EXPECT_EQ(error_of(add_alias_targets(t, "x@example.test", {"not an address"})), Errc::invalid_argument);
  EXPECT_EQ(error_of(add_alias_targets(t, "x@example.test", {})), Errc::invalid_argument);
  EXPECT_EQ(error_of(remove_alias(t, "nobody@example.test")), Errc::not_found);
  ok(add_alias_targets(t, "x@example.test", {"alice@example.test"}));
  EXPECT_EQ(error_of(add_user(t, "x@example.test", "h", {})), Errc::already_exists);
}

TEST_F(AccountsTest, ResolvesUsersTagsAliasesCatchAllAndRemotes) {
  auto alice = add("alice@example.test");
  auto bob = add("bob@example.test");
  write([](WriteTxn& t) {
    ok(add_alias_targets(t, "team@example.test", {"alice@example.test", "bob@example.test", "carol@example.org"}));
    ok(add_alias_targets(t, "all@example.test", {"team@example.test", "alice@example.test"}));
    return ok(add_alias_targets(t, "@other.example", {"bob@example.test"}));
  });
  EXPECT_EQ(resolve_now("alice@example.test").users, std::vector<UserId>{alice});
  EXPECT_EQ(resolve_now("ALICE@Example.Test.").users, std::vector<UserId>{alice});
  EXPECT_EQ(resolve_now("alice+lists@example.test").users, std::vector<UserId>{alice});
  auto team = resolve_now("team+x@example.test");
  EXPECT_EQ(team.users, (std::vector<UserId>{alice, bob}));
  EXPECT_EQ(team.remote, std::vector<std::string>{"carol@example.org"});
  auto all = resolve_now("all@example.test");
  EXPECT_EQ(all.users, (std::vector<UserId>{alice, bob}));  // alice once
  EXPECT_EQ(resolve_now("anyone@other.example").users, std::vector<UserId>{bob});
  auto remote = resolve_now("dave@example.org");
  EXPECT_TRUE(remote.users.empty());
  EXPECT_EQ(remote.remote, std::vector<std::string>{"dave@example.org"});
  EXPECT_TRUE(resolve_now("nobody@example.test").unknown());
  EXPECT_TRUE(resolve_now("not an address").unknown());
}

TEST_F(AccountsTest, PlusAddressingCanBeTurnedOff) {
  options_.addresses.plus_separator = "";
  reopen();
  add("alice@example.test");
  EXPECT_TRUE(resolve_now("alice+lists@example.test").unknown());
}

TEST_F(AccountsTest, AliasLoopsEnd) {
  auto alice = add("alice@example.test");
  write([](WriteTxn& t) {
    ok(add_alias_targets(t, "a@example.test", {"b@example.test"}));
    ok(add_alias_targets(t, "b@example.test", {"a@example.test", "alice@example.test"}));
    return 0;
  });
  EXPECT_EQ(resolve_now("a@example.test").users, std::vector<UserId>{alice});
}

TEST_F(AccountsTest, AliasChainsStopAtTheDepthLimit) {
  auto alice = add("alice@example.test");
  write([&](WriteTxn& t) {
    for (int i = 0; i < kMaxAliasDepth + 3; ++i)
      ok(add_alias_targets(t, "hop" + std::to_string(i) + "@example.test",
                           {"hop" + std::to_string(i + 1) + "@example.test"}));
    ok(add_alias_targets(t, "hop" + std::to_string(kMaxAliasDepth + 3) + "@example.test", {"alice@example.test"}));
    return 0;
  });
  EXPECT_TRUE(resolve_now("hop0@example.test").unknown());
  EXPECT_EQ(resolve_now(fmt::format("hop{}@example.test", 3 + 3)).users, std::vector<UserId>{alice});
}

TEST_F(AccountsTest, SurvivesReopening) {
  auto id = add("alice@example.test");
  reopen();
  EXPECT_EQ(ok(find_user(store().read(), "alice@example.test")).id, id);
}

}  // namespace
}  // namespace mailstead::storage
