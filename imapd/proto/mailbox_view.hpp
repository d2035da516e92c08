#pragma once
// The selected mailbox as one session's client sees it (RFC 9051 §2.3.1, §7.4.1, §5.2):
// message sequence numbers over UIDs, and the changes other sessions made that this client
// has not been told about yet. Pure: the session feeds it the change log and asks it what to
// report, and when.
//
// - A message expunged elsewhere keeps its sequence number until its EXPUNGE is sent, which
//   may be only at the end of a command that allows it (not FETCH, STORE or SEARCH).
// - A message appended elsewhere gets its number when EXISTS announces it.
// - \Recent (IMAP4rev1) is what the session claimed (recent_claims.hpp): at SELECT, the UIDs
//   it was handed; later, each new message it was the first to learn of.

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "imapd/proto/sequence.hpp"

namespace mailstead::imap {

using Uid = std::uint32_t;

struct ViewUpdates {
  std::vector<std::uint32_t> expunged;  // EXPUNGE numbers, in the order to send them
  std::vector<Uid> expunged_uids;       // the same messages' UIDs, ascending (VANISHED)
  std::optional<std::uint32_t> exists;  // EXISTS, when the count grew
  std::optional<std::uint32_t> recent;  // RECENT, with EXISTS
  std::vector<Uid> flags;               // messages whose FLAGS to send, ascending
};

class MailboxView {
 public:
  explicit MailboxView(std::vector<Uid> uids) : uids_(std::move(uids)) {}

  std::uint32_t exists() const { return static_cast<std::uint32_t>(uids_.size()); }
  Uid uid_at(std::uint32_t seq) const { return uids_[seq - 1]; }
  std::optional<std::uint32_t> seq_of(Uid uid) const;
  Uid largest_uid() const { return uids_.empty() ? 0 : uids_.back(); }
  bool is_recent(Uid uid) const { return recent_.count(uid) != 0; }
  std::uint32_t recent_count() const { return static_cast<std::uint32_t>(recent_.size()); }
  bool is_expunged(Uid uid) const { return pending_expunged_.count(uid) != 0; }
  // The earliest mod-sequence of an expunge not told yet (nullopt: none). While one is held
  // back, FETCH answers may carry later MODSEQs, so the session must tell a CONDSTORE client
  // a HIGHESTMODSEQ below it (RFC 7162 §3.2.10, erratum 1810 of RFC 5162).
  std::optional<std::uint64_t> pending_expunge_modseq() const {
    return pending_expunged_.empty() ? std::nullopt : std::optional(earliest_expunge_);
  }

  // The (seq, uid) pairs a sequence set or UID set names, ascending.
  struct Member {
    std::uint32_t seq;
    Uid uid;
  };
  std::vector<Member> by_sequence(const SequenceSet& set) const;
  std::vector<Member> by_uid(const SequenceSet& set) const;
  std::vector<Member> members(const std::vector<Uid>& uids) const;

  // At SELECT: the messages of [from, to) that the view holds are \Recent.
  void mark_recent(Uid from, Uid to);
  // Changes learned from the change log (or made by this session).
  void appended(Uid uid, bool recent);
  // `modseq`: the expunge's place in the change log (0: not known; see pending_expunge_modseq).
  void expunged(Uid uid, std::uint64_t modseq = 0);
  void flags_changed(Uid uid);
  // Without the change log (it was trimmed past this session's position): what the client
  // knows or is about to hear of and `in_store` (ascending) no longer holds is expunged; the
  // UIDs of `in_store` above all of those are returned, ascending, for appended().
  // `known_modseq`: how far the session had read the log; expunges found here happened after.
  std::vector<Uid> reconcile(const std::vector<Uid>& in_store, std::uint64_t known_modseq = 0);
  // The client was just sent this message's FLAGS (a FETCH or STORE answer): nothing pending.
  void flags_reported(Uid uid) { pending_flags_.erase(uid); }

  // with_flags false: other sessions' flag changes stay pending (a FETCH about to answer
  // with FLAGS reports them itself).
  ViewUpdates take_updates(bool allow_expunge, bool with_flags = true);

 private:
  Uid last_known() const { return pending_new_.empty() ? largest_uid() : pending_new_.back(); }

  std::vector<Uid> uids_;               // what the client knows, ascending
  std::set<Uid> pending_expunged_;      // still in uids_
  std::uint64_t earliest_expunge_ = 0;  // of pending_expunged_
  std::vector<Uid> pending_new_;        // not yet in uids_, ascending
  std::set<Uid> pending_flags_;
  std::set<Uid> recent_;
};

}  // namespace mailstead::imap
