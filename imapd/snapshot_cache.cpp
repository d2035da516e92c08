#include "imapd/snapshot_cache.hpp"

#include <algorithm>

#include "storage/changes.hpp"

namespace mailstead::imap {
namespace {

// The first unseen message from `from` on (0: none), reading records in UID order.
storage::Uid first_unseen_from(const storage::ReadTxn& txn, storage::MailboxId mailbox,
                               const std::vector<storage::Uid>& uids, storage::Uid from) {
  for (auto it = std::lower_bound(uids.begin(), uids.end(), from); it != uids.end(); ++it) {
    auto m = storage::find_message(txn, mailbox, *it);
    if (m && !(m->flags & storage::kSeen)) return *it;
  }
  return 0;
}

}  // namespace

std::uint32_t MailboxSnapshot::first_unseen_seq() const {
  if (first_unseen_uid == 0) return 0;
  auto it = std::lower_bound(uids.begin(), uids.end(), first_unseen_uid);
  return static_cast<std::uint32_t>(it - uids.begin() + 1);
}

MailboxSnapshot read_snapshot(const storage::ReadTxn& txn, storage::MailboxId mailbox) {
  MailboxSnapshot snapshot;
  storage::for_each_message(txn, mailbox, [&](const storage::Message& m) {
    snapshot.uids.push_back(m.uid);
    if (!snapshot.first_unseen_uid && !(m.flags & storage::kSeen)) snapshot.first_unseen_uid = m.uid;
    for (const auto& k : m.keywords) snapshot.keywords.insert(k);
    return true;
  });
  return snapshot;
}

std::optional<MailboxSnapshot> updated_snapshot(const storage::ReadTxn& txn, const storage::Mailbox& mailbox,
                                                const MailboxSnapshot& old, std::uint64_t old_modseq) {
  if (old_modseq < storage::change_log_floor(txn)) return std::nullopt;
  auto changes = storage::changes_since(txn, old_modseq, SnapshotCache::kMaxChanges + 1);
  if (changes.size() > SnapshotCache::kMaxChanges) return std::nullopt;
  MailboxSnapshot s = old;
  bool rescan_unseen = false;
  std::vector<storage::Uid> touched;  // appended or flags changed: read once each below
  for (const auto& change : changes) {
    if (change.mailbox != mailbox.id) continue;
    switch (change.kind) {
      case storage::ChangeKind::appended:
        if (s.uids.empty() || change.uid > s.uids.back()) s.uids.push_back(change.uid);
        touched.push_back(change.uid);
        break;
      case storage::ChangeKind::expunged: {
        auto it = std::lower_bound(s.uids.begin(), s.uids.end(), change.uid);
        if (it != s.uids.end() && *it == change.uid) s.uids.erase(it);
        if (change.uid == s.first_unseen_uid) rescan_unseen = true;
        break;
      }
      case storage::ChangeKind::flags:
        touched.push_back(change.uid);
        break;
      case storage::ChangeKind::mailbox_deleted:
        break;
    }
  }
  std::sort(touched.begin(), touched.end());
  touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
  // Their flags and keywords as they are now (an expunged one is not found).
  for (auto uid : touched) {
    auto m = storage::find_message(txn, mailbox.id, uid);
    if (!m) continue;
    for (const auto& k : m->keywords) s.keywords.insert(k);
    bool unseen = !(m->flags & storage::kSeen);
    if (unseen && (s.first_unseen_uid == 0 || m->uid < s.first_unseen_uid)) s.first_unseen_uid = m->uid;
    if (!unseen && m->uid == s.first_unseen_uid) rescan_unseen = true;
  }
  if (rescan_unseen) s.first_unseen_uid = first_unseen_from(txn, mailbox.id, s.uids, s.first_unseen_uid);
  return s;
}

std::shared_ptr<const MailboxSnapshot> SnapshotCache::get(const storage::ReadTxn& txn,
                                                          const storage::Mailbox& mailbox) {
  if (mailbox.messages < kMinMessages) return std::make_shared<const MailboxSnapshot>(read_snapshot(txn, mailbox.id));
  std::shared_ptr<const MailboxSnapshot> older;
  std::uint64_t older_modseq = 0;
  {
    std::lock_guard lock(mutex_);
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (it->id != mailbox.id || it->uid_validity != mailbox.uid_validity) continue;
      if (it->highest_modseq == mailbox.highest_modseq) {
        entries_.splice(entries_.begin(), entries_, it);
        return entries_.front().snapshot;
      }
      if (it->highest_modseq < mailbox.highest_modseq) {
        older = it->snapshot;
        older_modseq = it->highest_modseq;
      }
      break;
    }
  }
  std::optional<MailboxSnapshot> fresh;
  if (older) fresh = updated_snapshot(txn, mailbox, *older, older_modseq);
  if (!fresh) fresh = read_snapshot(txn, mailbox.id);
  auto snapshot = std::make_shared<const MailboxSnapshot>(std::move(*fresh));
  std::lock_guard lock(mutex_);
  // Another session may have stored a newer one meanwhile: keep whichever is newer.
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (it->id != mailbox.id) continue;
    if (it->uid_validity == mailbox.uid_validity && it->highest_modseq > mailbox.highest_modseq) return snapshot;
    entries_.erase(it);
    break;
  }
  entries_.push_front({mailbox.id, mailbox.uid_validity, mailbox.highest_modseq, snapshot});
  if (entries_.size() > kEntries) entries_.pop_back();
  return snapshot;
}

}  // namespace mailstead::imap
