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

// How far the index of a mailbox reaches, and the version of what its segments hold (the
// reader's to define; an index of another version is to be made again).
struct TextIndexState {
  Uid through = 0;  // every message up to this UID is in the index (0: none is)
  std::uint32_t version = 0;
};
TextIndexState text_index_state(const ReadTxn& txn, MailboxId mailbox);
// The segments, in UID order.
std::vector<TextIndexSegment> text_index_segments(const ReadTxn& txn, MailboxId mailbox);

// Writes `segments` (a segment of the same first UID is replaced) and moves the index of
// `mailbox` to `next`; when `next` is of another version than the index, the old segments go
// first. Writes nothing and returns false if the mailbox is gone or its index is no longer as
// `expected` (another indexer got there first).
bool extend_text_index(WriteTxn& txn, MailboxId mailbox, const TextIndexState& expected, const TextIndexState& next,
                       const std::vector<std::pair<Uid, std::string>>& segments);

struct TextIndexLag {
  MailboxId mailbox = 0;
  Uid through = 0;           // where its index of `version` is
  std::uint64_t behind = 0;  // messages it may not have reached (UIDs up to UIDNEXT)
};
// Mailboxes with messages above their index of `version`, fewest behind first.
std::vector<TextIndexLag> text_index_lag(const ReadTxn& txn, std::uint32_t version);

}  // namespace mailstead::storage
