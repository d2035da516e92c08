#include "imapd/snapshot_cache.hpp"

namespace mailstead::imap {

MailboxSnapshot read_snapshot(const storage::ReadTxn& txn, storage::MailboxId mailbox) {
  MailboxSnapshot snapshot;
  storage::for_each_message(txn, mailbox, [&](const storage::Message& m) {
    snapshot.uids.push_back(m.uid);
    if (!snapshot.first_unseen_seq && !(m.flags & storage::kSeen))
      snapshot.first_unseen_seq = static_cast<std::uint32_t>(snapshot.uids.size());
    for (const auto& k : m.keywords) snapshot.keywords.insert(k);
    return true;
  });
  return snapshot;
}

std::shared_ptr<const MailboxSnapshot> SnapshotCache::get(const storage::ReadTxn& txn, const storage::Mailbox& mailbox) {
  if (mailbox.messages < kMinMessages) return std::make_shared<const MailboxSnapshot>(read_snapshot(txn, mailbox.id));
  auto same = [&mailbox](const Entry& e) {
    return e.id == mailbox.id && e.uid_validity == mailbox.uid_validity && e.highest_modseq == mailbox.highest_modseq &&
           e.uid_next == mailbox.uid_next && e.messages == mailbox.messages;
  };
  {
    std::lock_guard lock(mutex_);
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (!same(*it)) continue;
      entries_.splice(entries_.begin(), entries_, it);
      return entries_.front().snapshot;
    }
  }
  auto snapshot = std::make_shared<const MailboxSnapshot>(read_snapshot(txn, mailbox.id));
  std::lock_guard lock(mutex_);
  std::erase_if(entries_, [&mailbox](const Entry& e) { return e.id == mailbox.id; });
  entries_.push_front({mailbox.id, mailbox.uid_validity, mailbox.highest_modseq, mailbox.uid_next, mailbox.messages,
                       snapshot});
  if (entries_.size() > kEntries) entries_.pop_back();
  return snapshot;
}

}  // namespace mailstead::imap
