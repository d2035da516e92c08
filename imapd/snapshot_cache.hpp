#pragma once
// What SELECT needs of a mailbox — its UIDs, the keywords in use, the first unseen message —
// kept per process for big mailboxes, so that selecting a 100,000-message mailbox again
// (another folder switch, a phone reconnecting) copies a vector instead of walking every
// message record. An entry is exact for the mailbox state it was read at (id, UIDVALIDITY,
// HIGHESTMODSEQ); when the mailbox has changed since, the change log from that HIGHESTMODSEQ
// brings a copy of it up to date (a new message, some flags, an expunge: a few lookups), and
// only when that log is long or trimmed is the mailbox read again.

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "storage/mailboxes.hpp"
#include "storage/messages.hpp"

namespace mailstead::imap {

struct MailboxSnapshot {
  std::vector<storage::Uid> uids;
  // Keywords in use; may keep one no message carries any more (FLAGS may list it, harmlessly).
  std::set<std::string> keywords;
  storage::Uid first_unseen_uid = 0;       // 0: none
  std::uint32_t first_unseen_seq() const;  // 0: none
};

class SnapshotCache {
 public:
  // Mailboxes smaller than this are read each time (it costs less than a millisecond).
  static constexpr std::uint64_t kMinMessages = 2000;
  static constexpr std::size_t kEntries = 32;
  // Beyond this many change-log entries to read, reading the mailbox is as cheap.
  static constexpr std::size_t kMaxChanges = 20000;

  // The snapshot of `mailbox` as of `txn` (whose record it is), from the cache or read now.
  std::shared_ptr<const MailboxSnapshot> get(const storage::ReadTxn& txn, const storage::Mailbox& mailbox);

 private:
  struct Entry {
    storage::MailboxId id;
    std::uint32_t uid_validity;
    std::uint64_t highest_modseq;
    std::shared_ptr<const MailboxSnapshot> snapshot;
  };
  std::mutex mutex_;
  std::list<Entry> entries_;  // most recently used first
};

MailboxSnapshot read_snapshot(const storage::ReadTxn& txn, storage::MailboxId mailbox);
// `old`, read at `old_modseq`, brought to `txn`'s state of `mailbox` through the change log;
// nullopt when the log does not reach back or is too long for that to pay.
std::optional<MailboxSnapshot> updated_snapshot(const storage::ReadTxn& txn, const storage::Mailbox& mailbox,
                                                const MailboxSnapshot& old, std::uint64_t old_modseq);

}  // namespace mailstead::imap
