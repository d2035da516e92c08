// Searches kept up to date (RFC 5267 §4.3, CONTEXT=SEARCH and CONTEXT=SORT): a SEARCH or SORT
// with RETURN (UPDATE) leaves a context behind, and the changes this session learns of (new
// messages, flag changes, expunges: session_sync.cpp) are matched against it and told as
// ADDTO and REMOVEFROM in ESEARCH responses, beside the EXISTS, FETCH and EXPUNGE responses
// that carry them.
//
// Bounds: a session keeps at most imapd.max_update_contexts (NOUPDATE past it). A context
// holds its result's UIDs and the messages still to match; a flag change is matched again only
// where the criteria read flags. Matching is done for at most kSearchSlice at each point
// where the session reports changes; what is left is matched at the next one (IDLE comes back
// for it at once), so that a mailbox of 100,000 messages flagged at once keeps other sessions
// on the thread waiting no longer than a search slice does.

#include <fmt/format.h>

#include <map>

#include "imapd/session_impl.hpp"
#include "imapd/stored_message.hpp"

namespace mailstead::imap {

namespace {

std::string esearch_start(const UpdateContext& context) {
  return fmt::format("* ESEARCH (TAG \"{}\"){}", context.tag, context.uid ? " UID" : "");
}

}  // namespace

bool Session::context_tag_in_use(const std::string& tag) const {
  return std::any_of(contexts_.begin(), contexts_.end(), [&tag](const UpdateContext& c) { return c.tag == tag; });
}

void Session::start_updating(const Command& command, SearchMatches& matches, std::vector<storage::Uid> order,
                             std::vector<SortCriterion> sort) {
  // RFC 5267 §4.3.1: the other return options are still honoured; the client may cancel one.
  if (contexts_.size() >= cfg_.imapd.max_update_contexts) {
    fmt::format_to(std::back_inserter(talk_.out()),
                   "* NO [NOUPDATE \"{}\"] This session keeps {} searches up to date already\r\n", command.tag,
                   contexts_.size());
    return;
  }
  const auto& view = selected()->view;
  const bool sorted = !sort.empty();
  UpdateContext context{.tag = command.tag,
                        .uid = command.uid,
                        .key = std::move(matches.key),
                        .scope = std::move(matches.scope),
                        .reads_flags = false,
                        .email_id = false,
                        .sort = std::move(sort),
                        .result = UpdatingResult(std::move(order), sorted),
                        .pending = {}};
  pin_sequence_numbers(context.key, view.exists(), [&view](std::uint32_t seq) { return view.uid_at(seq); });
  context.reads_flags = reads_flags(context.key);
  context.email_id = uses_email_id(context.key);
  contexts_.push_back(std::move(context));
}

void Session::flags_changed_for_contexts(const std::vector<storage::Uid>& uids) {
  for (auto& context : contexts_)
    if (context.reads_flags) context.pending.insert(uids.begin(), uids.end());
}

void Session::report_context_expunges(const ViewUpdates& updates) {
  if (contexts_.empty() || updates.expunged_uids.empty()) return;
  const auto& uids = updates.expunged_uids;
  // The numbers the client still holds: EXPUNGE numbers count the removals sent before them,
  // and the i-th expunged message (ascending) had i more.
  auto number_before = [&](storage::Uid uid) {
    auto i = static_cast<std::size_t>(std::lower_bound(uids.begin(), uids.end(), uid) - uids.begin());
    return updates.expunged[i] + static_cast<std::uint32_t>(i);
  };
  for (auto& context : contexts_) {
    for (auto uid : uids) context.pending.erase(uid);
    auto number = [&](storage::Uid uid) { return context.uid ? uid : number_before(uid); };
    auto item = context.result.remove(uids, number);
    if (!item.empty()) talk_.out() += esearch_start(context) + item + "\r\n";
  }
}

bool Session::contexts_pending() const {
  return std::any_of(contexts_.begin(), contexts_.end(), [](const UpdateContext& c) { return !c.pending.empty(); });
}

bool Session::context_matches(const storage::ReadTxn& txn, const storage::Message& record,
                              const UpdateContext& context) {
  const auto& view = selected()->view;
  StoredMessageSource source;
  source.txn = &txn;
  source.record = &record;
  SearchMessage m;
  m.seq = view.seq_of(record.uid).value_or(0);
  m.facts = facts_of(record);
  m.recent = view.is_recent(record.uid);
  std::string email_id;
  if (context.email_id) {
    email_id = email_id_of(record.blob.bytes);
    m.facts.email_id = email_id;
  }
  return matches(context.key, m, context.scope, source.loader());
}

std::optional<SortKeys> Session::context_sort_keys(const storage::ReadTxn& txn, storage::Uid uid,
                                                   const std::vector<SortCriterion>& criteria) {
  auto record = storage::find_message(txn, selected()->mailbox.id, uid);
  if (!record) return std::nullopt;
  auto message = sort_message_of(txn, *record, false);
  if (!message) return std::nullopt;
  auto keys = sort_keys(*message, criteria);
  keys.seq = uid;  // ties keep mailbox order, which is UID order
  return keys;
}

void Session::update_contexts() {
  if (!contexts_pending()) return;
  auto& s = *selected();
  auto txn = ctx_.services.store.read();
  const auto deadline = std::chrono::steady_clock::now() + kSearchSlice;
  std::size_t matched = 0;
  bool out_of_time = false;
  for (auto& context : contexts_) {
    std::vector<storage::Uid> joined, left;  // ascending, as the pending set is
    while (!context.pending.empty()) {
      if (++matched % 16 == 0 && std::chrono::steady_clock::now() >= deadline) {
        out_of_time = true;
        break;
      }
      auto uid = *context.pending.begin();
      context.pending.erase(context.pending.begin());
      // Expunged (told or not yet): the expunge says REMOVEFROM. Not yet announced: it is
      // matched once EXISTS has been sent.
      if (s.view.is_expunged(uid) || !s.view.seq_of(uid)) continue;
      auto record = storage::find_message(txn, s.mailbox.id, uid);
      if (!record) continue;
      const bool match = context_matches(txn, *record, context);
      const bool member = context.result.contains(uid);
      if (match && !member) joined.push_back(uid);
      if (!match && member) left.push_back(uid);
    }
    auto number = [&](storage::Uid uid) { return context.uid ? uid : s.view.seq_of(uid).value_or(0); };
    // A sorted context compares each joining message with a few of the result (binary
    // search): their keys are read once each here.
    std::map<storage::Uid, SortKeys> keys;
    auto keys_of = [&](storage::Uid uid) -> const SortKeys& {
      auto it = keys.find(uid);
      if (it == keys.end()) {
        auto read = context_sort_keys(txn, uid, context.sort);
        if (!read) {  // expunged meanwhile: sorts as empty, still by UID
          read.emplace();
          read->values.resize(context.sort.size());
          read->seq = uid;
        }
        it = keys.emplace(uid, std::move(*read)).first;
      }
      return it->second;
    };
    auto before = [&](storage::Uid a, storage::Uid b) { return sorts_before(keys_of(a), keys_of(b), context.sort); };
    auto items = context.result.remove(left, number);
    items += context.result.add(joined, before, number);
    if (!items.empty()) talk_.out() += esearch_start(context) + items + "\r\n";
    if (out_of_time) break;
  }
}

// RFC 5267 §4.3.5: no further updates for these tags; a tag with none is no error (what the
// client asked for holds).
bool Session::on_cancelupdate(const Command& command, const CancelUpdate& cancel) {
  std::erase_if(contexts_, [&cancel](const UpdateContext& c) {
    return std::find(cancel.tags.begin(), cancel.tags.end(), c.tag) != cancel.tags.end();
  });
  report_updates(false);
  tagged(command, "OK", "CANCELUPDATE completed");
  return true;
}

}  // namespace mailstead::imap
