#pragma once
// Internal to storage/: the store's upgrade from format 2, whose mailbox records held their
// own subscription flag.

#include "storage/detail/lmdb.hpp"

namespace mailstead::storage::detail {

// Rewrites every mailbox record without the flag and subscribes to each name that had it.
void move_subscriptions_out_of_mailboxes(TxnState& t);

}  // namespace mailstead::storage::detail
