#pragma once
// The store's invariants, verified in one read view: what `mailstead check` reports and what
// the crash tests run after every kill. A store that passes is one every daemon can trust:
//
// - every message has its blob, of its size, and a structure record that decodes; its UID is
//   below its mailbox's UIDNEXT and its modseq no higher than the mailbox's HIGHESTMODSEQ,
//   which is no higher than the store's modseq counter;
// - each mailbox's message and byte counters are the sum of its messages, and each user's
//   usage (what quotas are checked against) the sum over their mailboxes;
// - each user and mailbox is found again through its index;
// - each blob's reference count is the number of messages and queue entries that name it,
//   every counted blob has its bytes, and no bytes or structure record are left without one.

#include <cstdint>
#include <string>
#include <vector>

#include "storage/store.hpp"

namespace mailstead::storage {

struct StoreCheck {
  std::uint64_t users = 0, mailboxes = 0, messages = 0, blobs = 0, queue_entries = 0;
  std::vector<std::string> problems;  // empty: every invariant holds (at most kMaxProblems)
  static constexpr std::size_t kMaxProblems = 100;
};

StoreCheck check_store(const ReadTxn& txn);

}  // namespace mailstead::storage
