#include "smtpd/policy.hpp"

#include <algorithm>

#include "storage/address.hpp"
#include "storage/messages.hpp"

namespace mailstead::smtp {
namespace {

bool full(const storage::ReadTxn& txn, storage::UserId id, std::uint64_t size_hint) {
  auto user = storage::user_by_id(txn, id);
  if (!user) return false;
  auto used = storage::usage_of(txn, id);
  if (user->quota.bytes && used.bytes + std::max<std::uint64_t>(size_hint, 1) > user->quota.bytes) return true;
  return user->quota.messages && used.messages + 1 > user->quota.messages;
}

}  // namespace

RecipientDecision decide_recipient(const storage::ReadTxn& txn, const Mailbox& recipient, bool may_relay,
                                   std::uint64_t size_hint) {
  RecipientDecision d;
  auto domain = storage::normalize_domain(recipient.domain);
  if (!domain) {
    d.verdict = RecipientVerdict::invalid_domain;  // address literals and the like
    return d;
  }
  if (!storage::is_local_domain(txn, *domain)) {
    if (!may_relay) {
      d.verdict = RecipientVerdict::relay_denied;
      return d;
    }
    d.verdict = RecipientVerdict::accepted;
    d.remote.push_back(recipient.to_string());
    return d;
  }
  auto resolution = storage::resolve(txn, recipient.local + "@" + *domain);
  if (resolution.unknown()) {
    d.verdict = RecipientVerdict::unknown_user;
    return d;
  }
  for (auto id : resolution.users) {
    if (full(txn, id, size_hint)) {
      d.verdict = RecipientVerdict::over_quota;
      return d;
    }
  }
  d.verdict = RecipientVerdict::accepted;
  d.users = std::move(resolution.users);
  d.remote = std::move(resolution.remote);
  return d;
}

bool address_belongs_to(const storage::ReadTxn& txn, const std::string& address, storage::UserId user) {
  auto resolution = storage::resolve(txn, address);
  return resolution.remote.empty() && resolution.users.size() == 1 && resolution.users[0] == user;
}

}  // namespace mailstead::smtp
