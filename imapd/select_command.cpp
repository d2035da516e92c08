// Selecting a mailbox: SELECT/EXAMINE and what comes with it — the \Recent claims
// (recent_claims.hpp) and QRESYNC's answer of what the client missed (RFC 7162 §3.2.5).

#include <fmt/format.h>

#include "imapd/proto/response.hpp"
#include "imapd/session_impl.hpp"
#include "storage/changes.hpp"

namespace mailstead::imap {

void Session::deselect() {
  auto* selected = state_.get_if<Selected>();
  if (!selected) return;
  ctx_.watcher.unwatch(bell_.get());
  auto user = std::move(selected->user);
  state_.enter<Authenticated>(std::move(user));
  saved_search_.clear();
  contexts_.clear();  // RFC 5267 §4.3: updates cease when the mailbox is no longer selected
}

// RFC 9051 §6.3.2 (and RFC 7162 §3.1.8 CONDSTORE, §3.2.5 QRESYNC parameters).
net::awaitable<bool> Session::on_select(const Command& command, const Select& select) {
  co_return co_await select_mailbox(command, select);
}

// RFC 9051 §6.3.3: SELECT, read-only.
net::awaitable<bool> Session::on_examine(const Command& command, const Examine& examine) {
  co_return co_await select_mailbox(command, examine);
}

net::awaitable<bool> Session::select_mailbox(const Command& command, const Select& select) {
  if (select.qresync && !enabled_.qresync) co_return bad(command.tag, "QRESYNC needs ENABLE QRESYNC first");
  if (select.condstore) enabled_.condstore = true;
  bool had_selection = state_.is<Selected>();
  deselect();
  if (had_selection) talk_.out() += "* OK [CLOSED] Previous mailbox closed\r\n";
  auto name = mailbox_name(select.mailbox);
  if (!name) co_return no_such_mailbox(command);
  storage::Mailbox mailbox;
  {
    auto txn = ctx_.services.store.read();
    auto found = storage::find_mailbox(txn, account().id, *name);
    if (!found || found->noselect) {
      tagged(command, "NO", "[NONEXISTENT] No such mailbox");
      co_return true;
    }
    mailbox = *found;
  }
  std::pair<std::uint32_t, std::uint32_t> recent{0, 0};
  if (!enabled_.imap4rev2 && !select.read_only) {
    recent = co_await claim_recent(mailbox);
  } else if (!enabled_.imap4rev2) {
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
  fmt::format_to(std::back_inserter(talk_.out()), "* FLAGS ({})\r\n", flags);
  MailboxView view(uids);
  view.mark_recent(recent.first, recent.second);
  fmt::format_to(std::back_inserter(talk_.out()), "* {} EXISTS\r\n", uids.size());
  if (!enabled_.imap4rev2) fmt::format_to(std::back_inserter(talk_.out()), "* {} RECENT\r\n", view.recent_count());
  if (select.read_only)
    talk_.out() += "* OK [PERMANENTFLAGS ()] Read-only mailbox\r\n";
  else
    fmt::format_to(std::back_inserter(talk_.out()), "* OK [PERMANENTFLAGS ({} \\*)] Flags permitted\r\n", flags);
  if (unseen_seq && !enabled_.imap4rev2)
    fmt::format_to(std::back_inserter(talk_.out()), "* OK [UNSEEN {}] First unseen\r\n", unseen_seq);
  fmt::format_to(std::back_inserter(talk_.out()), "* OK [UIDVALIDITY {}] UIDs valid\r\n", mailbox.uid_validity);
  fmt::format_to(std::back_inserter(talk_.out()), "* OK [UIDNEXT {}] Predicted next UID\r\n", mailbox.uid_next);
  fmt::format_to(std::back_inserter(talk_.out()), "* OK [HIGHESTMODSEQ {}] Highest\r\n", mailbox.highest_modseq);
  fmt::format_to(std::back_inserter(talk_.out()), "* OK [MAILBOXID ({})] Ok\r\n",
                 mailbox_id_of(mailbox));  // RFC 8474 §4.2
  if (enabled_.imap4rev2) {
    talk_.out() += "* LIST () \"";
    talk_.out() += ctx_.services.store.options().hierarchy_separator;
    talk_.out() += "\" ";
    append_astring(talk_.out(), wire_name(mailbox.name), enabled_.utf8);
    talk_.out() += "\r\n";
  }
  auto user = account();
  state_.enter<Selected>(std::move(user), SelectedMailbox{mailbox, select.read_only, std::move(view), seen_modseq,
                                                          recent.first, recent.second});
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
  auto ok = co_await commit("SELECT", [&](storage::WriteTxn& txn) -> storage::Result<void> {
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
    auto current = storage::mailbox_by_id(txn, selected()->mailbox.id);
    auto top = current ? current->uid_next - 1 : selected()->mailbox.uid_next - 1;
    auto gone = missing_within(storage::list_uids(txn, selected()->mailbox.id), top, within);
    if (!gone.empty())
      fmt::format_to(std::back_inserter(talk_.out()), "* VANISHED (EARLIER) {}\r\n", format_intervals(gone));
    return;
  }
  auto gone = storage::expunged_since(txn, selected()->mailbox.id, modseq);
  std::erase_if(gone, [&](std::uint32_t uid) { return !contains(within, uid); });
  if (!gone.empty()) fmt::format_to(std::back_inserter(talk_.out()), "* VANISHED (EARLIER) {}\r\n", format_set(gone));
}

void Session::append_qresync_answer(const QresyncParameters& q) {
  auto& s = *selected();
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
  if (enabled_.imap4rev2) return false;
  auto& s = *selected();
  if (uid >= s.recent_from && uid < s.recent_to) return true;
  if (s.read_only) return uid >= ctx_.recent.floor(current.id, current.recent_floor);
  return ctx_.recent.claim(current.id, current.recent_floor, uid + 1) <= uid;
}

}  // namespace mailstead::imap
