#include "imapd/proto/mailbox_view.hpp"

#include <algorithm>

namespace mailstead::imap {

std::optional<std::uint32_t> MailboxView::seq_of(Uid uid) const {
  auto it = std::lower_bound(uids_.begin(), uids_.end(), uid);
  if (it == uids_.end() || *it != uid) return std::nullopt;
  return static_cast<std::uint32_t>(it - uids_.begin() + 1);
}

std::vector<MailboxView::Member> MailboxView::by_sequence(const SequenceSet& set) const {
  std::vector<Member> out;
  for (const auto& interval : resolve(set, exists()))
    for (std::uint64_t seq = interval.low; seq <= interval.high; ++seq)
      out.push_back({static_cast<std::uint32_t>(seq), uids_[seq - 1]});
  return out;
}

std::vector<MailboxView::Member> MailboxView::by_uid(const SequenceSet& set) const {
  std::vector<Member> out;
  for (const auto& interval : resolve(set, largest_uid())) {
    auto it = std::lower_bound(uids_.begin(), uids_.end(), interval.low);
    for (; it != uids_.end() && *it <= interval.high; ++it)
      out.push_back({static_cast<std::uint32_t>(it - uids_.begin() + 1), *it});
  }
  return out;
}

std::vector<MailboxView::Member> MailboxView::members(const std::vector<Uid>& uids) const {
  std::vector<Member> out;
  for (auto uid : uids)
    if (auto seq = seq_of(uid)) out.push_back({*seq, uid});
  return out;
}

void MailboxView::mark_recent(Uid from, Uid to) {
  for (auto it = std::lower_bound(uids_.begin(), uids_.end(), from); it != uids_.end() && *it < to; ++it)
    recent_.insert(recent_.end(), *it);
}

void MailboxView::appended(Uid uid, bool recent) {
  if (uid <= last_known()) return;  // already known (this session's own APPEND or COPY, say)
  pending_new_.push_back(uid);
  if (recent) recent_.insert(uid);
}

void MailboxView::expunged(Uid uid, std::uint64_t modseq) {
  if (seq_of(uid)) {
    if (pending_expunged_.empty() || modseq < earliest_expunge_) earliest_expunge_ = modseq;
    pending_expunged_.insert(uid);
    pending_flags_.erase(uid);
    return;
  }
  // Appended and expunged before the client heard of it: it never existed for the client.
  auto it = std::lower_bound(pending_new_.begin(), pending_new_.end(), uid);
  if (it != pending_new_.end() && *it == uid) pending_new_.erase(it);
  recent_.erase(uid);
}

std::vector<Uid> MailboxView::reconcile(const std::vector<Uid>& in_store, std::uint64_t known_modseq) {
  auto present = [&in_store](Uid uid) { return std::binary_search(in_store.begin(), in_store.end(), uid); };
  for (auto uid : uids_)
    if (!present(uid)) expunged(uid, known_modseq + 1);
  for (auto uid : std::vector<Uid>(pending_new_))
    if (!present(uid)) expunged(uid, known_modseq + 1);
  return {std::upper_bound(in_store.begin(), in_store.end(), last_known()), in_store.end()};
}

void MailboxView::flags_changed(Uid uid) {
  if (seq_of(uid) && !pending_expunged_.count(uid)) pending_flags_.insert(uid);
}

ViewUpdates MailboxView::take_updates(bool allow_expunge, bool with_flags) {
  ViewUpdates updates;
  if (allow_expunge && !pending_expunged_.empty()) {
    for (auto uid : pending_expunged_) {  // ascending: each number counts the removals before it
      auto it = std::lower_bound(uids_.begin(), uids_.end(), uid);
      updates.expunged.push_back(static_cast<std::uint32_t>(it - uids_.begin() + 1));
      updates.expunged_uids.push_back(uid);
      uids_.erase(it);
      recent_.erase(uid);
    }
    pending_expunged_.clear();
  }
  if (!pending_new_.empty()) {
    uids_.insert(uids_.end(), pending_new_.begin(), pending_new_.end());
    pending_new_.clear();
    updates.exists = exists();
    updates.recent = recent_count();
  }
  if (!with_flags) return updates;
  updates.flags.assign(pending_flags_.begin(), pending_flags_.end());
  pending_flags_.clear();
  return updates;
}

}  // namespace mailstead::imap
