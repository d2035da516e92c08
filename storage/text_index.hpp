#pragma once
// Where imapd keeps the text index of each mailbox: segments of bytes the store holds without
// reading them (imapd/proto/text_index.hpp says what they are), keyed by the first UID each
// covers, and how far the index reaches. UIDs only grow and are never reused, so "every
// message up to UID n was indexed" stays true whatever is appended, by this version or an
// older one that knows nothing of the index; messages above it are read by a search as
// before. Expunged messages leave their bits behind (a search only asks about the messages
// there are), and the index goes with its mailbox.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "storage/mailboxes.hpp"
#include "storage/messages.hpp"
#include "storage/store.hpp"

namespace mailstead::storage {

struct TextIndexSegment {
  Uid first = 0;
  std::string_view bytes;  // borrowed from the transaction
};

// Every message of `mailbox` up to this UID is in the index (0: none is).
Uid text_index_through(const ReadTxn& txn, MailboxId mailbox);
// The segments, in UID order.
std::vector<TextIndexSegment> text_index_segments(const ReadTxn& txn, MailboxId mailbox);

// Writes `segments` (a segment of the same first UID is replaced) and moves the index of
// `mailbox` to `through`. Writes nothing and returns false if the mailbox is gone or its index
// is no longer at `expected` (another indexer got there first).
bool extend_text_index(WriteTxn& txn, MailboxId mailbox, Uid expected, Uid through,
                       const std::vector<std::pair<Uid, std::string>>& segments);

struct TextIndexLag {
  MailboxId mailbox = 0;
  Uid through = 0;           // where its index is
  std::uint64_t behind = 0;  // messages it may not have reached (UIDs up to UIDNEXT)
};
// Mailboxes with messages above their index, fewest behind first.
std::vector<TextIndexLag> text_index_lag(const ReadTxn& txn);

}  // namespace mailstead::storage
