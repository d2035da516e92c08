#pragma once
// Where the store's message record meets IMAP's syntax: the record's facts as
// imapd/proto/message_facts.hpp has them, and flag bits both ways. The two sets of bits are
// the same numbers (checked here), so each conversion is a copy; they are spelt out so that
// neither side can come to depend on the other.

#include <optional>

#include "common/mime/mime.hpp"
#include "imapd/proto/message_facts.hpp"
#include "imapd/proto/search.hpp"
#include "imapd/proto/sort.hpp"
#include "storage/messages.hpp"

namespace mailstead::imap {

constexpr bool same_bit(Flag imap, storage::Flag stored) {
  return static_cast<std::uint32_t>(imap) == static_cast<std::uint32_t>(stored);
}
static_assert(same_bit(kSeen, storage::kSeen) && same_bit(kAnswered, storage::kAnswered) &&
              same_bit(kFlagged, storage::kFlagged) && same_bit(kDeleted, storage::kDeleted) &&
              same_bit(kDraft, storage::kDraft));

inline std::uint32_t imap_flags(std::uint32_t stored) {
  return stored & storage::kAllFlags;
}
inline std::uint32_t stored_flags(std::uint32_t imap) {
  return imap & storage::kAllFlags;
}

// RFC 8474 §4: a mailbox's MAILBOXID, from its id, which the store never gives twice and a
// RENAME keeps.
inline std::string mailbox_id_of(const storage::Mailbox& mailbox) {
  return "F" + std::to_string(mailbox.id);
}

// RFC 8514's save date. A message stored before the store kept one (format 4) has its internal
// date instead: the time it was delivered, which is when it was saved unless it was APPENDed
// with a date or copied since.
inline std::int64_t save_date_of(const storage::Message& record) {
  return record.saved != 0 ? record.saved : record.internal_date;
}

// A view: valid while `record` is.
inline MessageFacts facts_of(const storage::Message& record) {
  return {record.uid, imap_flags(record.flags), record.keywords, record.internal_date, record.size, record.modseq,
          {},         save_date_of(record),     record.thread};
}

// What the SEARCH matcher reads of a stored message (search.hpp's SearchLoader): its header
// fields, or its structure and bytes, from `txn` as `record`. Both are read at each load, so
// that a search moves them from message to message and from read view to read view; the
// structure is kept here, and its views are into `txn`'s pages.
struct StoredMessageSource {
  const storage::ReadTxn* txn = nullptr;
  const storage::Message* record = nullptr;
  std::optional<mime::Part> structure;
  std::uint32_t read = 0;  // messages whose header or content was read

  bool load(SearchMessage& message, SearchNeed need);
  SearchLoader loader() {
    return [this](SearchMessage& message, SearchNeed need) { return load(message, need); };
  }
};

// What SORT and THREAD compare of a stored message (its envelope; References when
// `references`), trimmed as sort.hpp asks; nullopt if its envelope cannot be read.
std::optional<SortMessage> sort_message_of(const storage::ReadTxn& txn, const storage::Message& record,
                                           bool references);

}  // namespace mailstead::imap
