#pragma once
// The change log: every append, flag change, expunge and mailbox deletion takes the next value of one
// store-wide modseq counter and leaves an entry (modseq -> user, mailbox, UID, kind). A process
// learns that anything changed by comparing last_modseq() with the value it saw before (one
// LMDB read), then asks changes_since() what: the base of IMAP IDLE and CONDSTORE/QRESYNC,
// and of POP3/IMAP coherence.

#include <cstdint>
#include <limits>
#include <vector>

#include "storage/accounts.hpp"
#include "storage/mailboxes.hpp"
#include "storage/store.hpp"

namespace mailstead::storage {

// mailbox_deleted (uid 0): the mailbox is gone, or kept only as a \Noselect parent; its
// messages' expunges come before it.
enum class ChangeKind : std::uint8_t { appended = 1, flags = 2, expunged = 3, mailbox_deleted = 4 };

struct Change {
  std::uint64_t modseq = 0;
  UserId user = 0;
  MailboxId mailbox = 0;
  std::uint32_t uid = 0;
  ChangeKind kind = ChangeKind::appended;
};

// The highest modseq given out so far (1 when nothing has changed yet).
std::uint64_t last_modseq(const ReadTxn& txn);
// Changes with a modseq above `after`, oldest first, at most `limit`.
std::vector<Change> changes_since(const ReadTxn& txn, std::uint64_t after,
                                  std::size_t limit = std::numeric_limits<std::size_t>::max());

// The log keeps what is recent, not everything (trim_change_log): entries with a modseq up
// to change_log_floor() may be gone (0: none ever was). A reader whose position is below it
// must work without the log: messages carry the modseq of their last change and UIDs are
// never reused, so comparing UIDs finds expunges and appends, and modseqs find flag changes.
std::uint64_t change_log_floor(const ReadTxn& txn);

// Maintenance, to call now and then (smtpd does, hourly). Notes (now, last modseq) at most
// once a day, and removes at most `max_entries` of the entries older than `retention` by
// those notes, oldest first; returns how many it removed (call again while that is
// max_entries).
std::size_t trim_change_log(WriteTxn& txn, std::int64_t now, std::int64_t retention, std::size_t max_entries);

// UIDs of `mailbox` expunged after `after`, ascending (QRESYNC's VANISHED (EARLIER)). Reads
// the store-wide log from `after` on; `after` must not be below change_log_floor().
std::vector<std::uint32_t> expunged_since(const ReadTxn& txn, MailboxId mailbox, std::uint64_t after);

namespace detail {
// Takes the next modseq and logs the change under it; returns the modseq.
std::uint64_t record_change(WriteTxn& txn, UserId user, MailboxId mailbox, std::uint32_t uid, ChangeKind kind);
}  // namespace detail

}  // namespace mailstead::storage
