// Selecting a mailbox: SELECT/EXAMINE and what comes with it — the \Recent claims
// (recent_claims.hpp) and QRESYNC's answer of what the client missed (RFC 7162 §3.2.5).

#include <fmt/format.h>

#include "imapd/proto/response.hpp"
#include "imapd/session_impl.hpp"
#include "storage/changes.hpp"

namespace mailstead::imap {

void Session::deselect() {
  if (!selected_) return;
  ctx_.watcher.unwatch(bell_.get());
  selected_.reset();
  saved_search_.clear();
}

net::awaitable<bool> Session::on_select(const Command& command, const Select& select) {
  if (select.qresync && !qresync_) co_return bad(command.tag, "QRESYNC needs ENABLE QRESYNC first");
  if (select.condstore) condstore_ = true;
  bool had_selection = selected_.has_value();
  deselect();
  if (had_selection) out_ += "* OK [CLOSED] Previous mailbox closed\r\n";
  auto name = mailbox_name(select.mailbox);
  if (!name) co_return bad(command.tag, "Malformed mailbox name");
  storage::Mailbox mailbox;
  {
    auto txn = ctx_.services.store.read();
    auto found = storage::find_mailbox(txn, user_->id, *name);
    if (!found || found->noselect) {
      tagged(command, "NO", "[NONEXISTENT] No such mailbox");
      co_return true;
    }
    mailbox = *found;
  }
  std::pair<std::uint32_t, std::uint32_t> recent{0, 0};
  if (!imap4rev2_ && !select.read_only) {
    recent = co_await claim_recent(mailbox);
  } else if (!imap4rev2_) {
    recent = {ctx_.recent.floor(mailbox.id, mailbox.recent_floor), mailbox.uid_next};
  }
  std::uint64_t seen_modseq = 0;
  std::shared_ptr<const MailboxSnapshot> snapshot;
  {
    auto txn = ctx_.services.store.read();
    auto found = storage::mailbox_by_id(txn, mailbox.id);
    if (!found || found->noselect) {  // deleted meanwhile
      tagged(command, "NO", "[NONEXISTENT] No such mailbox");
      co_return true;
    }
    mailbox = *found;
    seen_modseq = storage::last_modseq(txn);
    snapshot = ctx_.snapshots.get(txn, mailbox);
  }
  const auto& uids = snapshot->uids;
  const auto unseen_seq = snapshot->first_unseen_seq();
  std::string flags = "\\Answered \\Flagged \\Deleted \\Seen \\Draft";
  for (const auto& k : snapshot->keywords) flags += " " + k;
  fmt::format_to(std::back_inserter(out_), "* FLAGS ({})\r\n", flags);
  MailboxView view(uids);
  view.mark_recent(recent.first, recent.second);
  fmt::format_to(std::back_inserter(out_), "* {} EXISTS\r\n", uids.size());
  if (!imap4rev2_) fmt::format_to(std::back_inserter(out_), "* {} RECENT\r\n", view.recent_count());
  if (select.read_only)
    out_ += "* OK [PERMANENTFLAGS ()] Read-only mailbox\r\n";
  else
    fmt::format_to(std::back_inserter(out_), "* OK [PERMANENTFLAGS ({} \\*)] Flags permitted\r\n", flags);
  if (unseen_seq && !imap4rev2_)
    fmt::format_to(std::back_inserter(out_), "* OK [UNSEEN {}] First unseen\r\n", unseen_seq);
  fmt::format_to(std::back_inserter(out_), "* OK [UIDVALIDITY {}] UIDs valid\r\n", mailbox.uid_validity);
  fmt::format_to(std::back_inserter(out_), "* OK [UIDNEXT {}] Predicted next UID\r\n", mailbox.uid_next);
  fmt::format_to(std::back_inserter(out_), "* OK [HIGHESTMODSEQ {}] Highest\r\n", mailbox.highest_modseq);
  if (imap4rev2_) {
    out_ += "* LIST () \"";
    out_ += ctx_.services.store.options().hierarchy_separator;
    out_ += "\" ";
    append_astring(out_, wire_name(mailbox.name), utf8_);
    out_ += "\r\n";
  }
  selected_.emplace(Selected{mailbox, select.read_only, std::move(view), seen_modseq, recent.first, recent.second});
  // With another UIDVALIDITY the client's cache is void and there is nothing to say.
  if (select.qresync && select.qresync->uid_validity == mailbox.uid_validity) append_qresync_answer(*select.qresync);
  ctx_.watcher.watch(bell_, mailbox.id);
  tagged(command, "OK",
         fmt::format("{} {} completed", select.read_only ? "[READ-ONLY]" : "[READ-WRITE]",
                     select.read_only ? "EXAMINE" : "SELECT"));
  co_return true;
}

net::awaitable<std::pair<std::uint32_t, std::uint32_t>> Session::claim_recent(const storage::Mailbox& mailbox) {
  if (ctx_.recent.floor(mailbox.id, mailbox.recent_floor) >= mailbox.uid_next) co_return std::pair{0u, 0u};
  std::uint32_t stored_floor = 0;
  std::uint32_t uid_next = 0;
  bool ok = co_await commit("SELECT", [&](storage::WriteTxn& txn) -> storage::Result<void> {
    auto current = storage::mailbox_by_id(txn, mailbox.id);
    if (!current) return current.error();
    auto old = storage::claim_recent(txn, mailbox.id);
    if (!old) return old.error();
    stored_floor = *old;
    uid_next = current->uid_next;
    return {};
  });
  // Without the write the session still works; it just shows nothing as recent.
  if (!ok) co_return std::pair{0u, 0u};
  co_return std::pair{ctx_.recent.claim(mailbox.id, stored_floor, uid_next), uid_next};
}

void Session::append_vanished_earlier(std::uint64_t modseq, const std::vector<Interval>& within) {
  auto txn = ctx_.services.store.read();
  if (modseq < storage::change_log_floor(txn)) {
    // The log no longer reaches back to `modseq`: every UID below UIDNEXT that is not there
    // (RFC 7162 §3.2.5.2 permits reporting expunges older than asked for). Never reused, so
    // never wrong; just longer.
    auto current = storage::mailbox_by_id(txn, selected_->mailbox.id);
    auto top = current ? current->uid_next - 1 : selected_->mailbox.uid_next - 1;
    auto gone = missing_within(storage::list_uids(txn, selected_->mailbox.id), top, within);
    if (!gone.empty()) fmt::format_to(std::back_inserter(out_), "* VANISHED (EARLIER) {}\r\n", format_intervals(gone));
    return;
  }
  auto gone = storage::expunged_since(txn, selected_->mailbox.id, modseq);
  std::erase_if(gone, [&](std::uint32_t uid) { return !contains(within, uid); });
  if (!gone.empty()) fmt::format_to(std::back_inserter(out_), "* VANISHED (EARLIER) {}\r\n", format_set(gone));
}

void Session::append_qresync_answer(const QresyncParameters& q) {
  auto& s = *selected_;
  const std::vector<Interval> everything{{1, 0xffffffffu}};
  append_vanished_earlier(q.modseq, q.known_uids ? resolve(*q.known_uids, 0xffffffffu) : everything);
  // Then the flags of what changed since (messages the snapshot does not hold yet come with
  // EXISTS later).
  auto txn = ctx_.services.store.read();
  storage::for_each_message(txn, s.mailbox.id, [&](const storage::Message& message) {
    if (message.modseq <= q.modseq) return true;
    if (auto seq = s.view.seq_of(message.uid)) append_flags_fetch(message, *seq, true);
    return true;
  });
}

bool Session::recent_for_arrival(const storage::Mailbox& current, std::uint32_t uid) {
  if (imap4rev2_) return false;
  auto& s = *selected_;
  if (uid >= s.recent_from && uid < s.recent_to) return true;
  if (s.read_only) return uid >= ctx_.recent.floor(current.id, current.recent_floor);
  return ctx_.recent.claim(current.id, current.recent_floor, uid + 1) <= uid;
}

}  // namespace mailstead::imap
