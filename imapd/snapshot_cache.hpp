#pragma once
// What SELECT needs of a mailbox — its UIDs, the keywords in use, the first unseen message —
// kept per process for big mailboxes, so that selecting a 100,000-message mailbox again
// (another folder switch, a phone reconnecting) copies a vector instead of walking every
// message record. An entry is valid only for the exact mailbox state it was read from
// (id, UIDVALIDITY, HIGHESTMODSEQ, UIDNEXT, message count): any append, expunge or flag
// change moves HIGHESTMODSEQ, and the next SELECT reads the mailbox again.

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "storage/mailboxes.hpp"
#include "storage/messages.hpp"

namespace mailstead::imap {

struct MailboxSnapshot {
  std::vector<storage::Uid> uids;
  std::set<std::string> keywords;
  std::uint32_t first_unseen_seq = 0;  // 0: none
};

class SnapshotCache {
 public:
  // Mailboxes smaller than this are read each time (it costs less than a millisecond).
  static constexpr std::uint64_t kMinMessages = 2000;
  static constexpr std::size_t kEntries = 32;

  // The snapshot of `mailbox` as of `txn` (whose record it is), from the cache or read now.
  std::shared_ptr<const MailboxSnapshot> get(const storage::ReadTxn& txn, const storage::Mailbox& mailbox);

 private:
  struct Entry {
    storage::MailboxId id;
    std::uint32_t uid_validity;
    std::uint64_t highest_modseq;
    std::uint32_t uid_next;
    std::uint64_t messages;
    std::shared_ptr<const MailboxSnapshot> snapshot;
  };
  std::mutex mutex_;
  std::list<Entry> entries_;  // most recently used first
};

MailboxSnapshot read_snapshot(const storage::ReadTxn& txn, storage::MailboxId mailbox);

}  // namespace mailstead::imap
