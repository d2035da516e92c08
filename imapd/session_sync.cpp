// Learning what other sessions and processes changed in the selected mailbox, and telling
// the client at the points RFC 9051 §7.4.1 allows.

#include <fmt/format.h>

#include "imapd/proto/response.hpp"
#include "imapd/session_impl.hpp"
#include "storage/changes.hpp"

namespace mailstead::imap {

void Session::sync_changes() {
  auto& s = *selected();
  auto txn = ctx_.services.store.read();
  auto mailbox = storage::mailbox_by_id(txn, s.mailbox.id);
  auto last = storage::last_modseq(txn);
  if (!mailbox || mailbox->noselect) {
    // Another session deleted it. Its messages are gone and its name may be taken by a new
    // mailbox with other UIDs: nothing the client holds stays true, so the session ends
    // (what Dovecot does too; RFC 9051 leaves it open).
    mailbox_deleted_ = true;
    return;
  }
  if (mailbox->highest_modseq <= s.seen_modseq) {
    // Nothing here changed; later changes elsewhere need not be read again.
    s.seen_modseq = last;
    return;
  }
  if (s.seen_modseq < storage::change_log_floor(txn)) {
    sync_without_log(txn, *mailbox);
  } else {
    apply_logged_changes(txn, *mailbox);
  }
  s.seen_modseq = last;
  s.mailbox = *mailbox;
  // Own flag changes older than what has now been read will never be seen again.
  own_modseqs_.erase(own_modseqs_.begin(), own_modseqs_.upper_bound(last));
}

void Session::apply_logged_changes(const storage::ReadTxn& txn, const storage::Mailbox& mailbox) {
  auto& s = *selected();
  for (const auto& change : storage::changes_since(txn, s.seen_modseq)) {
    if (change.mailbox != s.mailbox.id) continue;
    switch (change.kind) {
      case storage::ChangeKind::appended:
        s.view.appended(change.uid, recent_for_arrival(mailbox, change.uid));
        break;
      case storage::ChangeKind::expunged:
        s.view.expunged(change.uid, change.modseq);
        break;
      case storage::ChangeKind::mailbox_deleted:
        break;  // seen above, as the mailbox record
      case storage::ChangeKind::flags:
        if (own_modseqs_.erase(change.modseq) == 0) s.view.flags_changed(change.uid);
        break;
    }
  }
}

void Session::sync_without_log(const storage::ReadTxn& txn, const storage::Mailbox& mailbox) {
  auto& s = *selected();
  for (auto uid : s.view.reconcile(storage::list_uids(txn, mailbox.id), s.seen_modseq))
    s.view.appended(uid, recent_for_arrival(mailbox, uid));
  storage::for_each_message(txn, mailbox.id, [&](const storage::Message& m) {
    if (m.modseq > s.seen_modseq && !own_modseqs_.count(m.modseq)) s.view.flags_changed(m.uid);
    return true;
  });
}

void Session::append_fetch_start(std::string& out, std::uint32_t seq, storage::Uid uid) const {
  if (enabled_.uidonly)
    fmt::format_to(std::back_inserter(out), "* {} UIDFETCH (", uid);  // RFC 9586 §3.3
  else
    fmt::format_to(std::back_inserter(out), "* {} FETCH (", seq);
}

void Session::append_flags_fetch(const storage::Message& message, std::uint32_t seq, bool with_uid, bool with_flags) {
  auto& s = *selected();
  std::string items;
  if (with_uid && !enabled_.uidonly) items += fmt::format("UID {}", message.uid);  // UIDFETCH leads with it
  if (with_flags) {
    if (!items.empty()) items += ' ';
    items += "FLAGS ";
    items +=
        flag_list(imap_flags(message.flags), message.keywords, !enabled_.imap4rev2 && s.view.is_recent(message.uid));
  }
  if (enabled_.condstore) {
    if (!items.empty()) items += ' ';
    items += fmt::format("MODSEQ ({})", message.modseq);
  }
  auto& out = talk_.out();
  append_fetch_start(out, seq, message.uid);
  out += items;
  out += ")\r\n";
}

void Session::report_updates(bool allow_expunge, bool with_flags) {
  auto& s = *selected();
  const auto known = s.view.exists();
  auto updates = s.view.take_updates(allow_expunge, with_flags);
  report_context_expunges(updates);  // RFC 5267 §4.3.4: REMOVEFROM before the EXPUNGE
  if (enabled_.qresync || enabled_.uidonly) {
    // RFC 7162 §3.2.10: once QRESYNC is on, VANISHED replaces EXPUNGE (same timing rules);
    // RFC 9586 §3.4 the same for UIDONLY.
    if (!updates.expunged_uids.empty())
      fmt::format_to(std::back_inserter(talk_.out()), "* VANISHED {}\r\n", format_set(updates.expunged_uids));
  } else {
    for (auto seq : updates.expunged) fmt::format_to(std::back_inserter(talk_.out()), "* {} EXPUNGE\r\n", seq);
  }
  if (updates.exists) {
    fmt::format_to(std::back_inserter(talk_.out()), "* {} EXISTS\r\n", *updates.exists);
    if (!enabled_.imap4rev2) fmt::format_to(std::back_inserter(talk_.out()), "* {} RECENT\r\n", *updates.recent);
  }
  if (!updates.flags.empty()) {
    auto txn = ctx_.services.store.read();
    for (auto uid : updates.flags) {
      auto seq = s.view.seq_of(uid);
      auto message = storage::find_message(txn, s.mailbox.id, uid);
      if (seq && message) append_flags_fetch(*message, *seq, true);
    }
  }
  // RFC 5267 §4.3.3: ADDTO after the EXISTS that numbers the new messages; flag changes with
  // the FETCH that carries them.
  if (!contexts_.empty()) {
    std::vector<storage::Uid> arrived;
    for (auto seq = known - static_cast<std::uint32_t>(updates.expunged.size()) + 1; seq <= s.view.exists(); ++seq)
      arrived.push_back(s.view.uid_at(seq));
    for (auto& context : contexts_) context.pending.insert(arrived.begin(), arrived.end());
    flags_changed_for_contexts(updates.flags);
    update_contexts();
  }
  // RFC 7162 §3.2.10 (RFC 5162 erratum 1810): an expunge held back while this command's
  // answers carried later MODSEQs must not be skipped by a client that resynchronises from
  // the highest MODSEQ it saw.
  if (auto held = s.view.pending_expunge_modseq(); held && enabled_.condstore)
    fmt::format_to(std::back_inserter(talk_.out()), "* OK [HIGHESTMODSEQ {}] Expunges are still to come\r\n",
                   std::max<std::uint64_t>(*held, 1) - 1);
}

}  // namespace mailstead::imap
