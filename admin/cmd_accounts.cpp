// mailstead domain|user|alias|mailbox ...: the accounts of the mail store.

#include <fmt/format.h>

#include <charconv>
#include <ctime>
#include <fstream>

#include "admin/command.hpp"
#include "admin/store_access.hpp"
#include "common/auth/password.hpp"
#include "common/config/units.hpp"
#include "storage/accounts.hpp"
#include "storage/mailboxes.hpp"
#include "storage/messages.hpp"

namespace mailstead::admin {
namespace {

using namespace storage;

const OptionSpec kPasswordFile{"--password-file", true, "read the password from the first line of this file"};
const OptionSpec kPasswordStdin{"--password-stdin", false, "read the password from the first line of standard input"};
const OptionSpec kPasswordHashFile{"--password-hash-file", true,
                                   "keep this file's crypt(3) hash ($6$, $2b$, Dovecot's {SHA512-CRYPT}...)"};

// The hash to store for a new password: a fresh yescrypt hash of the password the user gives,
// or, with --password-hash-file, a hash brought over from another server as it is (users
// keep their passwords when they move their mail here).
std::optional<std::string> new_password_hash(const Invocation& inv) {
  if (auto file = inv.value("--password-hash-file")) {
    std::ifstream in{std::string(*file)};
    std::string hash;
    if (!in || !std::getline(in, hash)) {
      fmt::print(stderr, "mailstead: cannot read a password hash from {}\n", *file);
      return std::nullopt;
    }
    while (!hash.empty() && (hash.back() == '\r' || hash.back() == ' ')) hash.pop_back();
    // Dovecot writes the scheme first ("{SHA512-CRYPT}$6$..."); its crypt(3) schemes are
    // the hash after the braces.
    for (std::string_view scheme : {"{CRYPT}", "{MD5-CRYPT}", "{SHA256-CRYPT}", "{SHA512-CRYPT}", "{BLF-CRYPT}"})
      if (hash.starts_with(scheme)) hash.erase(0, scheme.size());
    if (auth::verify_password("", hash) == auth::Verdict::malformed_hash) {
      fmt::print(stderr, "mailstead: {} does not hold a crypt(3) hash that libxcrypt can check\n", *file);
      return std::nullopt;
    }
    return hash;
  }
  auto password = read_password(inv, PasswordUse::new_password);
  if (!password) return std::nullopt;
  auto hash = auth::hash_password(*password);
  explicit_bzero(password->data(), password->size());
  return hash;
}

std::string format_size(std::uint64_t bytes) {
  if (bytes == 0) return "unlimited";
  for (auto [unit, shift] : {std::pair{"G", 30}, {"M", 20}, {"K", 10}})
    if (bytes % (std::uint64_t{1} << shift) == 0) return fmt::format("{}{}", bytes >> shift, unit);
  return std::to_string(bytes);
}

std::string format_count(std::uint64_t n) {
  return n == 0 ? "unlimited" : std::to_string(n);
}

// Quota values given on the command line; absent ones leave the quota as it is.
struct QuotaChange {
  std::optional<std::uint64_t> bytes;
  std::optional<std::uint64_t> messages;

  Quota applied_to(Quota quota) const {
    if (bytes) quota.bytes = *bytes;
    if (messages) quota.messages = *messages;
    return quota;
  }
};

std::optional<QuotaChange> parse_quota(const Invocation& inv, std::string_view bytes_option,
                                       std::string_view messages_option) {
  QuotaChange change;
  if (auto text = inv.value(bytes_option)) {
    auto parsed = config::parse_size(*text);
    if (auto* why = std::get_if<std::string>(&parsed)) {
      fmt::print(stderr, "mailstead: {}: {}\n", bytes_option, *why);
      return std::nullopt;
    }
    change.bytes = std::get<std::uint64_t>(parsed);
  }
  if (auto text = inv.value(messages_option)) {
    change.messages = parse_number<std::uint64_t>(*text);
    if (!change.messages) {
      fmt::print(stderr, "mailstead: {}: \"{}\" is not a number\n", messages_option, *text);
      return std::nullopt;
    }
  }
  return change;
}

std::string user_json(const User& u) {
  return fmt::format(R"({{"address":{},"quota_bytes":{},"quota_messages":{},"enabled":{}}})", json_string(u.address),
                     u.quota.bytes, u.quota.messages, u.enabled ? "true" : "false");
}

int domain_add(const Invocation& inv) {
  auto access = open_store(inv);
  if (!access) return kExitFailure;
  auto added = access->store->update([&](WriteTxn& t) { return add_domain(t, inv.args[0]); });
  if (!added) return report(added.error());
  fmt::print("added domain {}\n", *added);
  return kExitOk;
}

int domain_list(const Invocation& inv) {
  auto access = open_store(inv);
  if (!access) return kExitFailure;
  auto domains = list_domains(access->store->read());
  if (inv.has("--json")) return print_json_list(domains, json_string), kExitOk;
  for (const auto& d : domains) fmt::print("{}\n", d);
  return kExitOk;
}

int domain_remove(const Invocation& inv) {
  auto access = open_store(inv);
  if (!access) return kExitFailure;
  auto removed = access->store->update([&](WriteTxn& t) { return remove_domain(t, inv.args[0]); });
  if (!removed) return report(removed.error());
  fmt::print("removed domain {}\n", inv.args[0]);
  return kExitOk;
}

int user_add(const Invocation& inv) {
  auto change = parse_quota(inv, "--quota", "--quota-messages");
  if (!change) return kExitUsage;
  Quota quota = change->applied_to({});
  auto hash = new_password_hash(inv);  // before open_store drops privileges: the file may be root's
  if (!hash) return kExitFailure;
  auto access = open_store(inv);
  if (!access) return kExitFailure;
  auto user = access->store->update([&](WriteTxn& t) { return add_user(t, inv.args[0], *hash, quota); });
  if (!user) return report(user.error());
  fmt::print("added user {}\n", user->address);
  return kExitOk;
}

int user_list(const Invocation& inv) {
  auto access = open_store(inv);
  if (!access) return kExitFailure;
  auto users = list_users(access->store->read(), inv.args.empty() ? std::string_view{} : inv.args[0]);
  if (inv.has("--json")) return print_json_list(users, user_json), kExitOk;
  for (const auto& u : users)
    fmt::print("{:<40} quota={:<10} messages={:<10} {}\n", u.address, format_size(u.quota.bytes),
               format_count(u.quota.messages), u.enabled ? "enabled" : "disabled");
  return kExitOk;
}

// Finds the user named by the first argument, then applies `change` in one transaction.
template <class Change>
int change_user(const Invocation& inv, std::string_view done, Change&& change) {
  auto access = open_store(inv);
  if (!access) return kExitFailure;
  auto changed = access->store->update([&](WriteTxn& t) -> Result<void> {
    auto user = find_user(t, inv.args[0]);
    if (!user) return user.error();
    return change(t, *user);
  });
  if (!changed) return report(changed.error());
  fmt::print("{} {}\n", done, inv.args[0]);
  return kExitOk;
}

int user_remove(const Invocation& inv) {
  bool force = inv.has("--force");
  return change_user(inv, "removed user", [&](WriteTxn& t, const User& u) -> Result<void> {
    auto held = usage_of(t, u.id);
    if (held.messages > 0 && !force)
      return fail(Errc::not_empty, fmt::format("{} has {} message{} ({} bytes); add --force to remove them too",
                                               u.address, held.messages, held.messages == 1 ? "" : "s", held.bytes));
    return remove_user(t, u.id);
  });
}

int user_passwd(const Invocation& inv) {
  auto hash = new_password_hash(inv);
  if (!hash) return kExitFailure;
  return change_user(inv, "changed the password of",
                     [&](WriteTxn& t, const User& u) { return set_password_hash(t, u.id, *hash); });
}

int user_quota(const Invocation& inv) {
  if (!inv.has("--bytes") && !inv.has("--messages")) {
    auto access = open_store(inv);
    if (!access) return kExitFailure;
    auto user = find_user(access->store->read(), inv.args[0]);
    if (!user) return report(user.error());
    if (inv.has("--json")) return fmt::print("{}\n", user_json(*user)), kExitOk;
    fmt::print("{} quota={} messages={}\n", user->address, format_size(user->quota.bytes),
               format_count(user->quota.messages));
    return kExitOk;
  }
  auto change = parse_quota(inv, "--bytes", "--messages");
  if (!change) return kExitUsage;
  return change_user(inv, "changed the quota of",
                     [&](WriteTxn& t, const User& u) { return set_quota(t, u.id, change->applied_to(u.quota)); });
}

// Checks a password against the stored hash, as the daemons will at login.
int user_test_login(const Invocation& inv) {
  auto password = read_password(inv, PasswordUse::test);
  if (!password) return kExitFailure;
  auto access = open_store(inv);
  if (!access) return kExitFailure;
  auto user = find_user(access->store->read(), inv.args[0]);
  if (!user) return report(user.error());
  auto verdict = auth::verify_password(*password, user->password_hash);
  explicit_bzero(password->data(), password->size());
  if (verdict == auth::Verdict::malformed_hash)
    return fmt::print(stderr, "mailstead: the stored hash of {} is not usable\n", user->address), kExitFailure;
  if (verdict == auth::Verdict::mismatch)
    return fmt::print(stderr, "mailstead: wrong password for {}\n", user->address), kExitFailure;
  if (!user->enabled)
    return fmt::print(stderr, "mailstead: the password is right, but {} is disabled\n", user->address), kExitFailure;
  fmt::print("password ok for {}\n", user->address);
  return kExitOk;
}

int user_enable(const Invocation& inv, bool enabled) {
  return change_user(inv, enabled ? "enabled" : "disabled",
                     [&](WriteTxn& t, const User& u) { return set_enabled(t, u.id, enabled); });
}
int user_enable_cmd(const Invocation& inv) {
  return user_enable(inv, true);
}
int user_disable_cmd(const Invocation& inv) {
  return user_enable(inv, false);
}

int alias_add(const Invocation& inv) {
  auto access = open_store(inv);
  if (!access) return kExitFailure;
  std::vector<std::string> targets(inv.args.begin() + 1, inv.args.end());
  auto alias = access->store->update([&](WriteTxn& t) { return add_alias_targets(t, inv.args[0], targets); });
  if (!alias) return report(alias.error());
  fmt::print("{} -> {}\n", alias->address, fmt::join(alias->targets, ", "));
  return kExitOk;
}

int alias_list(const Invocation& inv) {
  auto access = open_store(inv);
  if (!access) return kExitFailure;
  auto aliases = list_aliases(access->store->read(), inv.args.empty() ? std::string_view{} : inv.args[0]);
  if (inv.has("--json")) {
    print_json_list(aliases, [](const Alias& a) {
      std::vector<std::string> targets;
      for (const auto& t : a.targets) targets.push_back(json_string(t));
      return fmt::format(R"({{"address":{},"targets":[{}]}})", json_string(a.address), fmt::join(targets, ","));
    });
    return kExitOk;
  }
  for (const auto& a : aliases) fmt::print("{} -> {}\n", a.address, fmt::join(a.targets, ", "));
  return kExitOk;
}

int alias_remove(const Invocation& inv) {
  auto access = open_store(inv);
  if (!access) return kExitFailure;
  auto removed = access->store->update([&](WriteTxn& t) -> Result<void> {
    if (inv.args.size() == 1) return remove_alias(t, inv.args[0]);
    auto left = remove_alias_target(t, inv.args[0], inv.args[1]);
    if (!left) return left.error();
    return {};
  });
  if (!removed) return report(removed.error());
  fmt::print("removed {}\n", inv.args.size() == 1 ? fmt::format("alias {}", inv.args[0])
                                                  : fmt::format("{} from alias {}", inv.args[1], inv.args[0]));
  return kExitOk;
}

int mailbox_list(const Invocation& inv) {
  auto access = open_store(inv);
  if (!access) return kExitFailure;
  auto txn = access->store->read();
  auto user = find_user(txn, inv.args[0]);
  if (!user) return report(user.error());
  auto boxes = list_mailboxes(txn, user->id);
  auto subscribed = [&txn, &user](const Mailbox& m) { return is_subscribed(txn, user->id, m.name); };
  if (inv.has("--json")) {
    print_json_list(boxes, [&subscribed](const Mailbox& m) {
      return fmt::format(
          R"({{"name":{},"special_use":{},"subscribed":{},"uid_validity":{},"uid_next":{},"messages":{},"bytes":{}}})",
          json_string(m.name), json_string(to_imap_attribute(m.special_use)), subscribed(m) ? "true" : "false",
          m.uid_validity, m.uid_next, m.messages, m.bytes);
    });
    return kExitOk;
  }
  for (const auto& m : boxes)
    fmt::print("{:<30} {:<9} messages={:<7} bytes={:<10} {}\n", m.name, to_imap_attribute(m.special_use), m.messages,
               m.bytes, subscribed(m) ? "subscribed" : "");
  return kExitOk;
}

const std::vector<Command> kCommands = {
    {{"domain", "add"},
     "DOMAIN",
     "make a domain local",
     "Mail for DOMAIN is accepted and stored here.",
     1,
     1,
     {},
     domain_add},
    {{"domain", "list"},
     "",
     "list the local domains",
     "Prints the local domains, one a line.",
     0,
     0,
     {kJson},
     domain_list},
    {{"domain", "remove"},
     "DOMAIN",
     "stop being responsible for a domain",
     "Refused while the domain still has users or aliases.",
     1,
     1,
     {},
     domain_remove},
    {{"user", "add"},
     "ADDRESS",
     "add a user (with INBOX, Sent, Drafts, Trash, Junk, Archive)",
     "The domain must be local. The password comes from --password-file, --password-stdin or\n"
     "a prompt on the terminal, never from the command line; it is stored as a yescrypt hash.\n"
     "--password-hash-file keeps a hash from another server instead.",
     1,
     1,
     {kPasswordFile,
      kPasswordStdin,
      kPasswordHashFile,
      {"--quota", true, "mailbox size limit, like 2G (0: unlimited)"},
      {"--quota-messages", true, "message count limit (0: unlimited)"}},
     user_add},
    {{"user", "list"}, "[DOMAIN]", "list users", "Prints every user, or those of DOMAIN.", 0, 1, {kJson}, user_list},
    {{"user", "remove"},
     "ADDRESS",
     "remove a user and its mailboxes",
     "Removes the user and all its mailboxes. A user that still has mail is only removed\n"
     "with --force, which deletes the mail too.",
     1,
     1,
     {{"--force", false, "also delete the user's mail"}},
     user_remove},
    {{"user", "passwd"},
     "ADDRESS",
     "set a user's password",
     "The password (or hash) comes as for `user add`.",
     1,
     1,
     {kPasswordFile, kPasswordStdin, kPasswordHashFile},
     user_passwd},
    {{"user", "quota"},
     "ADDRESS",
     "show or set a user's quota",
     "Without options, prints the quota; --bytes and --messages change it (0: unlimited).",
     1,
     1,
     {{"--bytes", true, "size limit, like 2G"}, {"--messages", true, "message count limit"}, kJson},
     user_quota},
    {{"user", "test-login"},
     "ADDRESS",
     "check a password as a login would",
     "Verifies the password (from --password-file, --password-stdin or a prompt) against the\n"
     "stored hash and the enabled flag. Exit status 0 when a login would succeed.",
     1,
     1,
     {kPasswordFile, kPasswordStdin},
     user_test_login},
    {{"user", "disable"},
     "ADDRESS",
     "refuse a user's logins (mail is still accepted)",
     "The user can no longer log in; mail for it is still delivered.",
     1,
     1,
     {},
     user_disable_cmd},
    {{"user", "enable"},
     "ADDRESS",
     "allow a disabled user to log in again",
     "Undoes `user disable`.",
     1,
     1,
     {},
     user_enable_cmd},
    {{"alias", "add"},
     "ADDRESS TARGET...",
     "forward an address to one or more targets",
     "ADDRESS is local (or @DOMAIN, the domain's catch-all); targets may be local or remote.\n"
     "Adding to an existing alias adds targets.",
     2,
     1000,
     {},
     alias_add},
    {{"alias", "list"},
     "[DOMAIN]",
     "list aliases",
     "Prints every alias, or those of DOMAIN.",
     0,
     1,
     {kJson},
     alias_list},
    {{"alias", "remove"},
     "ADDRESS [TARGET]",
     "remove an alias, or one of its targets",
     "Without TARGET the whole alias goes; an alias left with no target goes too.",
     1,
     2,
     {},
     alias_remove},
    {{"mailbox", "list"},
     "ADDRESS",
     "list a user's mailboxes",
     "Prints each mailbox with its special use.",
     1,
     1,
     {kJson},
     mailbox_list},
};

}  // namespace

std::span<const Command> account_commands() {
  return kCommands;
}

}  // namespace mailstead::admin
