#pragma once
// Internal to storage/: what mailbox changes do to the text index (text_index.hpp).

#include "storage/detail/lmdb.hpp"
#include "storage/mailboxes.hpp"

namespace mailstead::storage::detail {

// A deleted mailbox's index goes with it.
void remove_text_index(TxnState& t, MailboxId mailbox);

}  // namespace mailstead::storage::detail
