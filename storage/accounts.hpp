#pragma once
// Accounts: local domains, users, aliases, and the resolution of a recipient address.
//
// - A domain is local once added; users and aliases can only be created in local domains.
// - A user has an id that never changes and is never reused, an address (kept as given), a
//   crypt(3) password hash, a quota (0 = unlimited) and an enabled flag. Creating a user
//   creates its standard mailboxes (mailboxes.hpp) in the same transaction.
// - An alias maps one address to one or more targets, local or remote; "@domain" is the
//   domain's catch-all. Aliases may point at aliases (up to kMaxAliasDepth levels, loops are
//   cut).
// - resolve(): exact user, then exact alias, then the address without its +tag, then the
//   catch-all. A recipient in a domain that is not local is remote.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/result.hpp"
#include "storage/store.hpp"

namespace mailstead::storage {

using UserId = std::uint32_t;

struct Quota {
  std::uint64_t bytes = 0;     // 0: unlimited
  std::uint64_t messages = 0;  // 0: unlimited
};

struct User {
  UserId id = 0;
  std::string address;
  std::string password_hash;
  Quota quota;
  bool enabled = true;
};

struct Alias {
  std::string address;  // "list@example.test", or "@example.test" for a catch-all
  std::vector<std::string> targets;
};

inline constexpr int kMaxAliasDepth = 8;

// Domains
Result<std::string> add_domain(WriteTxn& txn, std::string_view domain);  // the normalized name
Result<void> remove_domain(WriteTxn& txn, std::string_view domain);      // not_empty while it has users/aliases
std::vector<std::string> list_domains(const ReadTxn& txn);
bool is_local_domain(const ReadTxn& txn, std::string_view domain);

// Users
Result<User> add_user(WriteTxn& txn, std::string_view address, std::string password_hash, Quota quota);
Result<User> find_user(const ReadTxn& txn, std::string_view address);  // exact address, no alias or tag
Result<User> user_by_id(const ReadTxn& txn, UserId id);
std::vector<User> list_users(const ReadTxn& txn, std::string_view domain = {});  // all domains when empty
Result<void> set_password_hash(WriteTxn& txn, UserId id, std::string password_hash);
Result<void> set_quota(WriteTxn& txn, UserId id, Quota quota);
Result<void> set_enabled(WriteTxn& txn, UserId id, bool enabled);
Result<void> remove_user(WriteTxn& txn, UserId id);  // with its mailboxes

// Aliases
Result<Alias> add_alias_targets(WriteTxn& txn, std::string_view address, const std::vector<std::string>& targets);
Result<void> remove_alias(WriteTxn& txn, std::string_view address);  // the whole alias
Result<Alias> remove_alias_target(WriteTxn& txn, std::string_view address, std::string_view target);
std::vector<Alias> list_aliases(const ReadTxn& txn, std::string_view domain = {});

struct Resolution {
  std::vector<UserId> users;        // local mailboxes, each once
  std::vector<std::string> remote;  // addresses in other domains, each once
  bool unknown() const { return users.empty() && remote.empty(); }
};

Resolution resolve(const ReadTxn& txn, std::string_view recipient);

}  // namespace mailstead::storage
