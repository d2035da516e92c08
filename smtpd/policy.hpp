#pragma once
// Who may send what to whom: the decisions smtpd takes at RCPT and MAIL, over a storage read
// transaction and nothing else, so they are tested without a socket.
//
// - A recipient in a local domain is accepted if it resolves (users, aliases, +tag,
//   catch-all); an unknown one is refused (550 5.1.1). Aliases may forward to remote
//   addresses: that is not relaying, the recipient was local.
// - A recipient elsewhere is accepted only from a client that may relay (authenticated, or in
//   smtpd.trusted_networks); otherwise 554 5.7.1. The decision uses the mailbox's own domain,
//   so the percent hack, bang paths and quoted local parts with '@' are simply unknown local
//   users, and source routes were dropped by the parser.
// - On submission the envelope sender and every From: address must resolve to the
//   authenticated user (their address, an alias that reaches them, or a +tag of either).

#include <optional>
#include <string>
#include <vector>

#include "smtpd/proto/command.hpp"
#include "storage/accounts.hpp"
#include "storage/store.hpp"

namespace mailstead::smtp {

enum class RecipientVerdict { accepted, relay_denied, unknown_user, over_quota, invalid_domain };

struct RecipientDecision {
  RecipientVerdict verdict = RecipientVerdict::unknown_user;
  std::vector<storage::UserId> users;
  std::vector<std::string> remote;
};

RecipientDecision decide_recipient(const storage::ReadTxn& txn, const Mailbox& recipient, bool may_relay,
                                   std::uint64_t size_hint);

// Whether `address` (envelope sender or From:) belongs to `user` on submission.
bool address_belongs_to(const storage::ReadTxn& txn, const std::string& address, storage::UserId user);

}  // namespace mailstead::smtp
