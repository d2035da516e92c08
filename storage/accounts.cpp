#include "storage/accounts.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "storage/address.hpp"
#include "storage/detail/codec.hpp"
#include "storage/detail/lmdb.hpp"
#include "storage/detail/metadata.hpp"
#include "storage/detail/threads.hpp"
#include "storage/dkim_keys.hpp"
#include "storage/mailboxes.hpp"

namespace mailstead::storage {
namespace {

constexpr std::uint8_t kDomainFormat = 1;
constexpr std::uint8_t kUserFormat = 1;
constexpr std::uint8_t kAliasFormat = 1;

std::string encode_user(const User& u) {
  return codec::Writer(kUserFormat)
      .str(u.address)
      .str(u.password_hash)
      .u64(u.quota.bytes)
      .u64(u.quota.messages)
      .boolean(u.enabled)
      .take();
}

User decode_user(UserId id, std::string_view bytes) {
  codec::Reader r(bytes, "user");
  User u;
  u.id = id;
  u.address = r.str();
  u.password_hash = r.str();
  u.quota.bytes = r.u64();
  u.quota.messages = r.u64();
  u.enabled = r.boolean();
  return u;
}

std::string encode_alias(const Alias& a) {
  codec::Writer w(kAliasFormat);
  w.str(a.address).u64(a.targets.size());
  for (const auto& t : a.targets) w.str(t);
  return w.take();
}

Alias decode_alias(std::string_view bytes) {
  codec::Reader r(bytes, "alias");
  Alias a;
  a.address = r.str();
  auto n = r.u64();
  for (std::uint64_t i = 0; i < n; ++i) a.targets.push_back(r.str());
  return a;
}

// An address of a local domain, checked, with its lookup key.
struct LocalAddress {
  std::string display;  // local part as given, domain normalized
  std::string key;
  std::string domain;
};

Result<LocalAddress> local_address(const ReadTxn& txn, std::string_view address, bool allow_catch_all) {
  const auto& policy = txn.state().options().addresses;
  if (allow_catch_all && address.starts_with('@')) {
    auto domain = normalize_domain(address.substr(1));
    if (!domain) return fail(Errc::invalid_argument, fmt::format("\"{}\" is not a valid domain", address.substr(1)));
    if (!is_local_domain(txn, *domain))
      return fail(Errc::not_found,
                  fmt::format("{} is not a local domain; add it with `mailstead domain add`", *domain));
    return LocalAddress{"@" + *domain, catch_all_key(*domain), *domain};
  }
  auto parts = split_address(address);
  if (!parts) return fail(Errc::invalid_argument, fmt::format("\"{}\" is not an address (local@domain)", address));
  if (auto problem = local_part_problem(parts->local))
    return fail(Errc::invalid_argument, fmt::format("\"{}\": {}", address, *problem));
  auto domain = normalize_domain(parts->domain);
  if (!domain) return fail(Errc::invalid_argument, fmt::format("\"{}\" is not a valid domain", parts->domain));
  if (!is_local_domain(txn, *domain))
    return fail(Errc::not_found, fmt::format("{} is not a local domain; add it with `mailstead domain add`", *domain));
  return LocalAddress{parts->local + "@" + *domain, address_key(parts->local, *domain, policy), *domain};
}

std::string domain_of_key(std::string_view key) {
  return std::string(key.substr(key.rfind('@') + 1));
}

Result<User> store_user(WriteTxn& txn, const User& user) {
  txn.state().put(txn.state().dbs().users, codec::key_u32(user.id), encode_user(user));
  return user;
}

bool domain_in_use(const ReadTxn& txn, std::string_view domain) {
  const auto& t = txn.state();
  bool used = false;
  auto check = [&](std::string_view key, std::string_view) {
    used = domain_of_key(key) == domain;
    return !used;
  };
  t.scan(t.dbs().user_index, "", check);
  if (!used) t.scan(t.dbs().aliases, "", check);
  return used;
}

}  // namespace

Result<std::string> add_domain(WriteTxn& txn, std::string_view domain) {
  auto name = normalize_domain(domain);
  if (!name) return fail(Errc::invalid_argument, fmt::format("\"{}\" is not a valid domain name", domain));
  auto& t = txn.state();
  if (!t.insert(t.dbs().domains, *name, codec::Writer(kDomainFormat).take()))
    return fail(Errc::already_exists, fmt::format("{} is already a local domain", *name));
  return *name;
}

Result<void> remove_domain(WriteTxn& txn, std::string_view domain) {
  auto name = normalize_domain(domain);
  if (!name || !is_local_domain(txn, *name))
    return fail(Errc::not_found, fmt::format("{} is not a local domain", domain));
  if (domain_in_use(txn, *name))
    return fail(Errc::not_empty, fmt::format("{} still has users or aliases; remove them first", *name));
  remove_dkim_keys_of(txn, *name);  // worthless without the domain
  txn.state().erase(txn.state().dbs().domains, *name);
  return {};
}

std::vector<std::string> list_domains(const ReadTxn& txn) {
  std::vector<std::string> out;
  txn.state().scan(txn.state().dbs().domains, "", [&](std::string_view key, std::string_view) {
    out.emplace_back(key);
    return true;
  });
  return out;
}

bool is_local_domain(const ReadTxn& txn, std::string_view domain) {
  auto name = normalize_domain(domain);
  return name && txn.state().get(txn.state().dbs().domains, *name).has_value();
}

Result<User> add_user(WriteTxn& txn, std::string_view address, std::string password_hash, Quota quota) {
  auto local = local_address(txn, address, false);
  if (!local) return local.error();
  auto& t = txn.state();
  if (t.get(t.dbs().user_index, local->key))
    return fail(Errc::already_exists, fmt::format("{} is already a user", local->display));
  if (t.get(t.dbs().aliases, local->key))
    return fail(Errc::already_exists, fmt::format("{} is already an alias", local->display));
  User user;
  user.id = static_cast<UserId>(t.next_counter("next_user_id", 1));
  user.address = local->display;
  user.password_hash = std::move(password_hash);
  user.quota = quota;
  t.put(t.dbs().user_index, local->key, codec::key_u32(user.id));
  auto stored = store_user(txn, user);
  if (!stored) return stored;
  if (auto made = create_default_mailboxes(txn, user.id); !made) return made.error();
  return user;
}

Result<User> find_user(const ReadTxn& txn, std::string_view address) {
  auto parts = split_address(address);
  auto domain = parts ? normalize_domain(parts->domain) : std::nullopt;
  if (!domain) return fail(Errc::not_found, fmt::format("no user {}", address));
  const auto& t = txn.state();
  auto id = t.get(t.dbs().user_index, address_key(parts->local, *domain, t.options().addresses));
  if (!id) return fail(Errc::not_found, fmt::format("no user {}", address));
  return user_by_id(txn, codec::get_u32be(*id));
}

Result<User> user_by_id(const ReadTxn& txn, UserId id) {
  const auto& t = txn.state();
  auto bytes = t.get(t.dbs().users, codec::key_u32(id));
  if (!bytes) return fail(Errc::not_found, fmt::format("no user with id {}", id));
  return decode_user(id, *bytes);
}

std::vector<User> list_users(const ReadTxn& txn, std::string_view domain) {
  std::vector<User> out;
  auto wanted = domain.empty() ? std::optional<std::string>() : normalize_domain(domain);
  txn.state().scan(txn.state().dbs().users, "", [&](std::string_view key, std::string_view value) {
    auto user = decode_user(codec::get_u32be(key), value);
    if (!wanted || domain_of_key(lower_ascii(user.address)) == *wanted) out.push_back(std::move(user));
    return true;
  });
  std::sort(out.begin(), out.end(), [](const User& a, const User& b) {
    return std::pair(domain_of_key(a.address), a.address) < std::pair(domain_of_key(b.address), b.address);
  });
  return out;
}

template <class Change>
Result<void> change_user(WriteTxn& txn, UserId id, Change&& change) {
  auto user = user_by_id(txn, id);
  if (!user) return user.error();
  change(*user);
  if (auto stored = store_user(txn, *user); !stored) return stored.error();
  return {};
}

Result<void> set_password_hash(WriteTxn& txn, UserId id, std::string password_hash) {
  return change_user(txn, id, [&](User& u) { u.password_hash = std::move(password_hash); });
}

Result<void> set_quota(WriteTxn& txn, UserId id, Quota quota) {
  return change_user(txn, id, [&](User& u) { u.quota = quota; });
}

Result<void> set_enabled(WriteTxn& txn, UserId id, bool enabled) {
  return change_user(txn, id, [&](User& u) { u.enabled = enabled; });
}

Result<void> remove_user(WriteTxn& txn, UserId id) {
  auto user = user_by_id(txn, id);
  if (!user) return user.error();
  auto& t = txn.state();
  auto parts = split_address(user->address);
  t.erase(t.dbs().user_index, address_key(parts->local, parts->domain, t.options().addresses));
  t.erase(t.dbs().users, codec::key_u32(id));
  t.erase(t.dbs().send_counts, codec::key_u32(id));
  detail::remove_server_metadata(t, id);
  detail::remove_threads(t, id);
  remove_all_mailboxes(txn, id);
  return {};
}

Result<Alias> add_alias_targets(WriteTxn& txn, std::string_view address, const std::vector<std::string>& targets) {
  auto local = local_address(txn, address, true);
  if (!local) return local.error();
  auto& t = txn.state();
  if (t.get(t.dbs().user_index, local->key))
    return fail(Errc::already_exists,
                fmt::format("{} is a user; an alias cannot have the same address", local->display));
  if (targets.empty()) return fail(Errc::invalid_argument, "an alias needs at least one target");
  Alias alias{local->display, {}};
  if (auto existing = t.get(t.dbs().aliases, local->key)) alias = decode_alias(*existing);
  for (const auto& target : targets) {
    auto parts = split_address(target);
    auto domain = parts ? normalize_domain(parts->domain) : std::nullopt;
    if (!domain || local_part_problem(parts->local))
      return fail(Errc::invalid_argument, fmt::format("target \"{}\" is not a valid address", target));
    std::string normalized = parts->local + "@" + *domain;
    if (std::find(alias.targets.begin(), alias.targets.end(), normalized) == alias.targets.end())
      alias.targets.push_back(normalized);
  }
  t.put(t.dbs().aliases, local->key, encode_alias(alias));
  return alias;
}

Result<void> remove_alias(WriteTxn& txn, std::string_view address) {
  auto local = local_address(txn, address, true);
  if (!local) return local.error();
  if (!txn.state().erase(txn.state().dbs().aliases, local->key))
    return fail(Errc::not_found, fmt::format("no alias {}", local->display));
  return {};
}

Result<Alias> remove_alias_target(WriteTxn& txn, std::string_view address, std::string_view target) {
  auto local = local_address(txn, address, true);
  if (!local) return local.error();
  auto& t = txn.state();
  auto existing = t.get(t.dbs().aliases, local->key);
  if (!existing) return fail(Errc::not_found, fmt::format("no alias {}", local->display));
  auto alias = decode_alias(*existing);
  auto it = std::find_if(alias.targets.begin(), alias.targets.end(),
                         [&](const std::string& x) { return lower_ascii(x) == lower_ascii(target); });
  if (it == alias.targets.end())
    return fail(Errc::not_found, fmt::format("{} is not a target of {}", target, alias.address));
  alias.targets.erase(it);
  if (alias.targets.empty())
    t.erase(t.dbs().aliases, local->key);
  else
    t.put(t.dbs().aliases, local->key, encode_alias(alias));
  return alias;
}

std::vector<Alias> list_aliases(const ReadTxn& txn, std::string_view domain) {
  std::vector<Alias> out;
  auto wanted = domain.empty() ? std::optional<std::string>() : normalize_domain(domain);
  txn.state().scan(txn.state().dbs().aliases, "", [&](std::string_view key, std::string_view value) {
    if (!wanted || domain_of_key(key) == *wanted) out.push_back(decode_alias(value));
    return true;
  });
  return out;
}

namespace {

class Resolver {
 public:
  explicit Resolver(const ReadTxn& txn) : t_(txn.state()), txn_(txn) {}

  void expand(std::string_view address, int depth, Resolution& out) {
    auto parts = split_address(address);
    auto domain = parts ? normalize_domain(parts->domain) : std::nullopt;
    if (!domain) return;
    if (!is_local_domain(txn_, *domain)) {
      add_unique(out.remote, std::string(address));
      return;
    }
    const auto& policy = t_.options().addresses;
    auto local = unquote_local_part(parts->local);
    auto key = address_key(local, *domain, policy);
    if (!visited_.insert(key).second || depth > kMaxAliasDepth) return;
    if (lookup(key, depth, out)) return;
    if (auto base = strip_tag(local, policy)) {
      if (lookup(address_key(*base, *domain, policy), depth, out)) return;
    }
    lookup_alias(catch_all_key(*domain), depth, out);
  }

 private:
  bool lookup(const std::string& key, int depth, Resolution& out) {
    if (auto id = t_.get(t_.dbs().user_index, key)) {
      auto user_id = codec::get_u32be(*id);
      if (std::find(out.users.begin(), out.users.end(), user_id) == out.users.end()) out.users.push_back(user_id);
      return true;
    }
    return lookup_alias(key, depth, out);
  }

  bool lookup_alias(const std::string& key, int depth, Resolution& out) {
    auto bytes = t_.get(t_.dbs().aliases, key);
    if (!bytes) return false;
    for (const auto& target : decode_alias(*bytes).targets) expand(target, depth + 1, out);
    return true;
  }

  static void add_unique(std::vector<std::string>& list, std::string value) {
    auto lower = lower_ascii(value);
    for (const auto& existing : list)
      if (lower_ascii(existing) == lower) return;
    list.push_back(std::move(value));
  }

  const detail::TxnState& t_;
  const ReadTxn& txn_;
  std::set<std::string> visited_;
};

}  // namespace

Resolution resolve(const ReadTxn& txn, std::string_view recipient) {
  Resolution out;
  Resolver(txn).expand(recipient, 0, out);
  return out;
}

}  // namespace mailstead::storage
