#pragma once
// Internal to storage/: what mailbox and account changes do to annotations (metadata.hpp).

#include "storage/detail/lmdb.hpp"
#include "storage/mailboxes.hpp"

namespace mailstead::storage::detail {

void remove_metadata(TxnState& t, MailboxId mailbox);
// The entries of `from` written again for `to` (a renamed INBOX's annotations, RFC 5464 §4.1).
void copy_metadata(TxnState& t, MailboxId from, MailboxId to);
// A removed user's private server entries.
void remove_server_metadata(TxnState& t, UserId user);

}  // namespace mailstead::storage::detail
