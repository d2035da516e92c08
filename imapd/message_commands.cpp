// Commands on the messages of the selected mailbox: FETCH, STORE, COPY, MOVE, SEARCH,
// EXPUNGE, UID EXPUNGE, CLOSE.

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <numeric>
#include <optional>

#include "common/log/log.hpp"
#include "common/mime/decode.hpp"
#include "common/mime/preview.hpp"
#include "common/text/ascii.hpp"
#include "imapd/proto/response.hpp"
#include "imapd/proto/search.hpp"
#include "imapd/proto/sections.hpp"
#include "imapd/proto/text_index.hpp"
#include "imapd/session_impl.hpp"
#include "storage/text_index.hpp"

namespace mailstead::imap {
namespace {

bool needs_bytes(const FetchRequest& request) {
  using K = FetchItem::Kind;
  return std::any_of(request.items.begin(), request.items.end(), [](const FetchItem& i) {
    return i.kind == K::body_section || i.kind == K::binary || i.kind == K::binary_size;
  });
}

bool needs_structure(const FetchRequest& request) {
  using K = FetchItem::Kind;
  return needs_bytes(request) || std::any_of(request.items.begin(), request.items.end(), [](const FetchItem& i) {
           return i.kind == K::body || i.kind == K::body_structure;
         });
}

bool needs_envelope(const FetchRequest& request) {
  return std::any_of(request.items.begin(), request.items.end(),
                     [](const FetchItem& i) { return i.kind == FetchItem::Kind::envelope; });
}

// RFC 8970 §3: the preview made when the message was stored; for a message stored before
// previews were, made now from its bytes unless the client said LAZY (§4: NIL then, and the
// client asks again without it when it wants the work done).
std::optional<std::string> preview_of(const storage::ReadTxn& txn, const storage::Message& record, bool lazy,
                                      const mime::Limits& limits) {
  if (auto stored = storage::stored_preview(txn, record)) return stored;
  if (lazy) return std::nullopt;
  auto bytes = storage::read_blob(txn, record.blob);
  auto structure = storage::message_structure(txn, record);
  if (!bytes || !structure) return std::string();
  return mime::make_preview(*bytes, *structure, limits);
}

// "BODY[1.TEXT]<0>" and friends: the name of a section item in the response.
std::string item_name(const FetchItem& item) {
  if (!item.legacy_name.empty()) return item.legacy_name;
  std::string name = item.kind == FetchItem::Kind::body_section ? "BODY[" : "BINARY[";
  name += section_name(item.section);
  name += ']';
  if (item.partial) name += fmt::format("<{}>", item.partial->offset);
  return name;
}

std::string_view apply_partial(std::string_view bytes, const std::optional<Partial>& partial) {
  if (!partial) return bytes;
  if (partial->offset >= bytes.size()) return {};
  return bytes.substr(partial->offset, partial->length);
}

// The decoded bytes of a BINARY section; nullopt when the part's encoding is unknown.
std::optional<std::string> binary_bytes(std::string_view message, const mime::Part& root, const Section& section) {
  const mime::Part* part = find_part(root, section.part);
  if (!part) return std::string();
  if (section.part.empty()) return std::string(message);
  if (part->is_multipart() || part->is_message()) return std::string(part->body.of(message));
  return mime::decode_transfer_encoding(part->encoding, part->body.of(message));
}

}  // namespace

// The messages a command's set names; `invalid` when a sequence number is beyond EXISTS.
std::vector<MailboxView::Member> Session::members(const Command& command, const SequenceSet& set, bool& invalid) {
  auto& view = selected()->view;
  invalid = false;
  if (set.saved) return view.members(saved_search_);
  if (command.uid) return view.by_uid(set);
  if (exceeds(set, view.exists())) {
    invalid = true;
    return {};
  }
  return view.by_sequence(set);
}

// RFC 9051 §6.4.5 (BINARY: RFC 3516; CHANGEDSINCE and VANISHED: RFC 7162).
net::awaitable<bool> Session::on_fetch(const Command& command, const Fetch& fetch) {
  if (fetch.request.vanished) {  // RFC 7162 §3.2.6
    if (!enabled_.qresync) co_return bad(command.tag, "VANISHED needs ENABLE QRESYNC first");
    if (!command.uid) co_return bad(command.tag, "VANISHED is for UID FETCH only");
    if (!fetch.request.changed_since) co_return bad(command.tag, "VANISHED needs CHANGEDSINCE");
  }
  const auto& items = fetch.request.items;
  const bool asks_modseq =
      std::any_of(items.begin(), items.end(), [](const FetchItem& i) { return i.kind == FetchItem::Kind::modseq; });
  if (fetch.request.changed_since || asks_modseq) enabled_.condstore = true;  // RFC 7162 §3.1: enabled by use
  sync_changes();
  // A UID command may be told of expunges (RFC 9051 §7.5.1): first, so that a message another
  // session removed is simply not there rather than an [EXPUNGEISSUED] failure.
  if (command.uid) report_updates(true, false);
  bool invalid = false;
  auto targets = members(command, fetch.set, invalid);
  if (invalid) co_return bad(command.tag, "Invalid message sequence number");
  const auto mailbox_id = selected()->mailbox.id;
  if (fetch.request.vanished) {
    auto largest = std::max(selected()->view.largest_uid(), selected()->mailbox.uid_next - 1);
    append_vanished_earlier(*fetch.request.changed_since, resolve(fetch.set, largest));
  }
  // Fetching a body without PEEK sets \Seen (RFC 9051 §6.4.5): one write before the answer.
  std::set<storage::Uid> newly_seen;
  if (sets_seen(fetch.request) && !selected()->read_only) {
    std::vector<storage::Uid> uids;
    uids.reserve(targets.size());
    for (const auto& m : targets) uids.push_back(m.uid);
    std::vector<std::uint64_t> modseqs;
    auto ok = co_await commit("FETCH", [&](storage::WriteTxn& txn) {
      newly_seen.clear();
      modseqs.clear();
      for (auto uid : uids) {
        auto change = storage::store_flags(txn, mailbox_id, uid, storage::FlagOperation::add, storage::kSeen, {});
        if (change && change->changed) {
          newly_seen.insert(uid);
          modseqs.push_back(change->message.modseq);
        }
      }
    });
    if (!ok) {
      tagged(command, "NO", not_written(ok, "Could not set \\Seen"));
      co_return true;
    }
    own_modseqs_.insert(modseqs.begin(), modseqs.end());
  }
  const bool want_bytes = needs_bytes(fetch.request);
  const bool want_structure = needs_structure(fetch.request);
  // What most clients fetch for a message list: then only the envelope is decoded.
  const bool want_envelope = needs_envelope(fetch.request);
  const bool want_envelope_only = !want_structure && want_envelope;
  bool some_gone = false;
  bool unknown_cte = false;
  // A read view is never held while the client takes its output (storage/store.hpp): it is
  // closed before each flush and a new one opened after, so a client that stops reading
  // neither pins old pages (the file would grow) nor holds up a map resize. A message
  // expunged meanwhile is answered as gone.
  std::optional<storage::ReadTxn> view(ctx_.services.store.read());
  for (const auto& target : targets) {
    if (!view) view.emplace(ctx_.services.store.read());
    const auto& txn = *view;
    auto record = storage::find_message(txn, mailbox_id, target.uid);
    if (!record) {
      some_gone = true;
      continue;
    }
    if (fetch.request.changed_since && record->modseq <= *fetch.request.changed_since) continue;
    std::optional<std::string_view> bytes;
    std::optional<mime::Part> structure;
    std::optional<mime::Envelope> envelope;
    if (want_bytes) bytes = storage::read_blob(txn, record->blob);
    if (want_structure) structure = storage::message_structure(txn, *record);
    if (want_envelope_only) envelope = storage::message_envelope(txn, *record);
    if ((want_bytes && !bytes) || (want_structure && !structure) || (want_envelope_only && !envelope)) {
      some_gone = true;
      continue;
    }
    if (structure && want_envelope) envelope = structure->envelope ? *structure->envelope : mime::Envelope{};
    std::string& line = talk_.out();  // written in place: a big FETCH makes no second copy of each line
    append_fetch_start(line, target.seq, record->uid);
    auto add = [&line](std::string_view text) {
      if (line.back() != '(') line += ' ';
      line += text;
    };
    bool uid_sent = false;
    bool flags_sent = false;
    bool modseq_sent = false;
    // A UIDFETCH response leads with the UID (RFC 9586 §3.3): the UID item only if asked for.
    if (command.uid && !enabled_.uidonly) {
      add(fmt::format("UID {}", record->uid));
      uid_sent = true;
    }
    using K = FetchItem::Kind;
    for (const auto& item : fetch.request.items) {
      switch (item.kind) {
        case K::uid:
          if (!uid_sent) add(fmt::format("UID {}", record->uid));
          uid_sent = true;
          break;
        case K::flags:
          add("FLAGS " + flag_list(imap_flags(record->flags), record->keywords,
                                   !enabled_.imap4rev2 && selected()->view.is_recent(record->uid)));
          flags_sent = true;
          break;
        case K::internal_date:
          add(fmt::format("INTERNALDATE \"{}\"", format_internal_date(record->internal_date)));
          break;
        case K::size:
          add(fmt::format("RFC822.SIZE {}", record->size));
          break;
        case K::modseq:
          if (!modseq_sent) add(fmt::format("MODSEQ ({})", record->modseq));
          modseq_sent = true;
          break;
        case K::email_id:  // RFC 8474 §5.1
          add(fmt::format("EMAILID ({})", email_id_of(record->blob.bytes)));
          break;
        case K::thread_id:  // RFC 8474 §5.2: NIL for a message stored before threads were
          if (record->thread != 0)
            add(fmt::format("THREADID ({})", thread_id_of(record->thread)));
          else
            add("THREADID NIL");
          break;
        case K::save_date:  // RFC 8514 §4.2
          add(fmt::format("SAVEDATE \"{}\"", format_internal_date(save_date_of(*record))));
          break;
        case K::preview: {  // RFC 8970 §5
          add("PREVIEW ");
          auto preview = preview_of(txn, *record, item.lazy, cfg_.limits.message);
          if (preview)
            append_string(line, *preview, enabled_.utf8);
          else
            line += "NIL";
          break;
        }
        case K::envelope:
          add("ENVELOPE ");
          append_envelope(line, *envelope);
          break;
        case K::body:
        case K::body_structure:
          add(item.kind == K::body ? "BODY " : "BODYSTRUCTURE ");
          append_body_structure(line, *structure, item.kind == K::body_structure);
          break;
        case K::body_section: {
          auto section = section_bytes(*bytes, *structure, item.section);
          add(item_name(item) + " ");
          if (!section)
            line += "NIL";
          else
            append_literal(line, apply_partial(*section, item.partial), false);
          break;
        }
        case K::binary:
        case K::binary_size: {
          auto decoded = binary_bytes(*bytes, *structure, item.section);
          if (!decoded) {
            unknown_cte = true;
            break;
          }
          if (item.kind == K::binary_size) {
            add(fmt::format("BINARY.SIZE[{}] {}", section_name(item.section), decoded->size()));
          } else {
            add(item_name(item) + " ");
            append_literal(line, apply_partial(*decoded, item.partial), true);
          }
          break;
        }
      }
    }
    if (!flags_sent && newly_seen.count(record->uid)) {
      add("FLAGS " + flag_list(imap_flags(record->flags), record->keywords,
                               !enabled_.imap4rev2 && selected()->view.is_recent(record->uid)));
      flags_sent = true;
    }
    if (flags_sent) selected()->view.flags_reported(record->uid);
    // CHANGEDSINCE implies MODSEQ; once CONDSTORE is on, so does every FETCH that has FLAGS.
    if (!modseq_sent && (fetch.request.changed_since || (enabled_.condstore && flags_sent)))
      add(fmt::format("MODSEQ ({})", record->modseq));
    line += ")\r\n";
    if (talk_.out().size() >= kFlushAt) {
      view.reset();
      if (!co_await talk_.flush()) co_return false;
    }
  }
  report_updates(command.uid);
  if (unknown_cte)
    tagged(command, "NO", "[UNKNOWN-CTE] A part has a content transfer encoding the server cannot decode");
  else if (some_gone)
    tagged(command, "NO", "[EXPUNGEISSUED] Some of the requested messages no longer exist");
  else
    tagged(command, "OK", fmt::format("{} completed", command.name));
  co_return true;
}

// RFC 9051 §6.4.6 (UNCHANGEDSINCE: RFC 7162 §3.1.3).
net::awaitable<bool> Session::on_store(const Command& command, const Store& store) {
  if (store.unchanged_since) enabled_.condstore = true;
  if (selected()->read_only) {
    tagged(command, "NO", "[READ-ONLY] The mailbox is open read-only");
    co_return true;
  }
  std::uint32_t flags = 0;
  std::vector<std::string> keywords;
  for (const auto& flag : store.flags) {
    if (auto bit = system_flag(flag))
      flags |= stored_flags(bit);
    else if (storage::valid_keyword(flag))
      keywords.push_back(flag);
    else
      co_return bad(command.tag, fmt::format("Invalid flag {}", flag));
  }
  sync_changes();
  if (command.uid) report_updates(true, false);  // as in FETCH
  bool invalid = false;
  auto targets = members(command, store.set, invalid);
  if (invalid) co_return bad(command.tag, "Invalid message sequence number");
  auto op = store.operation == Store::Operation::add      ? storage::FlagOperation::add
            : store.operation == Store::Operation::remove ? storage::FlagOperation::remove
                                                          : storage::FlagOperation::replace;
  const auto mailbox_id = selected()->mailbox.id;
  std::vector<std::pair<std::uint32_t, storage::Message>> results;  // seq, message after
  std::vector<std::uint32_t> modified;  // failed UNCHANGEDSINCE: seqs, or UIDs for UID STORE
  bool some_gone = false;
  std::vector<std::uint64_t> modseqs;  // filled on the committer's thread, used after
  std::vector<storage::Uid> changed;
  auto ok = co_await commit("STORE", [&](storage::WriteTxn& txn) {
    results.clear();
    modseqs.clear();
    changed.clear();
    modified.clear();
    some_gone = false;
    for (const auto& target : targets) {
      auto change = storage::store_flags(txn, mailbox_id, target.uid, op, flags, keywords, store.unchanged_since);
      if (!change) {
        some_gone = true;
        continue;
      }
      if (change->conflict) {
        modified.push_back(command.uid ? target.uid : target.seq);
        continue;
      }
      results.emplace_back(target.seq, change->message);
      if (change->changed) {
        modseqs.push_back(change->message.modseq);
        changed.push_back(target.uid);
      }
    }
  });
  own_modseqs_.insert(modseqs.begin(), modseqs.end());
  if (!ok) {
    tagged(command, "NO", not_written(ok, "Could not change the flags"));
    co_return true;
  }
  flags_changed_for_contexts(changed);  // this session's own changes are not in its view's log
  // With CONDSTORE even .SILENT reports each message's new MODSEQ (RFC 7162 §3.1.3).
  if (!store.silent || enabled_.condstore)
    for (const auto& [seq, message] : results) {
      append_flags_fetch(message, seq, command.uid, !store.silent);
      if (!store.silent) selected()->view.flags_reported(message.uid);
    }
  report_updates(command.uid);
  if (!modified.empty())
    tagged(command, "OK", fmt::format("[MODIFIED {}] Some messages were changed meanwhile", format_set(modified)));
  else if (some_gone)
    tagged(command, "NO", "[EXPUNGEISSUED] Some of the messages no longer exist");
  else
    tagged(command, "OK", fmt::format("{} completed", command.name));
  co_return true;
}

// RFC 3501 §6.4.1 CHECK: nothing is pending here, so it is a NOOP (RFC 9051 dropped it).
bool Session::on_check(const Command& command, const Check&) {
  sync_changes();
  report_updates(true);
  tagged(command, "OK", fmt::format("{} completed", command.name));
  return true;
}

// RFC 6851 §3.1.
net::awaitable<bool> Session::on_move(const Command& command, const Move& move) {
  co_return co_await on_copy(command, move);
}

// RFC 9051 §6.4.7 (COPYUID: RFC 4315); MOVE shares it.
net::awaitable<bool> Session::on_copy(const Command& command, const Copy& copy) {
  auto name = mailbox_name(copy.mailbox);
  if (!name) co_return cannot_name(command);
  if (copy.move && selected()->read_only) {
    tagged(command, "NO", "[READ-ONLY] The mailbox is open read-only");
    co_return true;
  }
  sync_changes();
  bool invalid = false;
  auto targets = members(command, copy.set, invalid);
  if (invalid) co_return bad(command.tag, "Invalid message sequence number");
  std::vector<storage::Uid> uids;
  uids.reserve(targets.size());
  for (const auto& t : targets) uids.push_back(t.uid);
  const auto source = selected()->mailbox.id;
  auto user = account().id;
  std::optional<storage::Failure> failure;
  storage::CopyResult result;
  auto ok = co_await commit(copy.move ? "MOVE" : "COPY", [&](storage::WriteTxn& txn) {
    auto target = storage::find_mailbox(txn, user, *name);
    if (!target || target->noselect) {
      failure = storage::fail(storage::Errc::not_found, "No such mailbox");
      return;
    }
    auto child = txn.nested();
    auto copied = copy.move ? storage::move_messages(child, source, uids, *target)
                            : storage::copy_messages(child, source, uids, *target);
    if (!copied) {
      failure = copied.error();
      return;
    }
    result = *copied;
    child.commit();
  });
  if (!ok) {
    tagged(command, "NO", not_written(ok, "Could not copy"));
    co_return true;
  }
  if (failure) {
    if (failure->code == storage::Errc::not_found)  // RFC 9051 §6.4.7: the target is missing
      tagged(command, "NO", "[TRYCREATE] No such mailbox");
    else
      tagged(command, "NO", fmt::format("{}{}", response_code(failure->code), failure->detail));
    co_return true;
  }
  std::string copyuid;
  if (!result.source_uids.empty())
    copyuid = fmt::format("[COPYUID {} {} {}] ", result.target_uid_validity, format_set(result.source_uids),
                          format_set(result.target_uids));
  if (copy.move) {
    if (!copyuid.empty()) fmt::format_to(std::back_inserter(talk_.out()), "* OK {}Moved\r\n", copyuid);
    for (auto uid : result.source_uids) selected()->view.expunged(uid);
    sync_changes();
    report_updates(true);
    tagged(command, "OK", fmt::format("{} completed", command.name));
  } else {
    sync_changes();
    report_updates(command.uid);
    tagged(command, "OK", fmt::format("{}{} completed", copyuid, command.name));
  }
  co_return true;
}

// RFC 8508 §3: the new message is appended to the named mailbox and the one it replaces
// expunged from the selected mailbox, in one transaction: when the append fails (no such
// mailbox, over quota) the old message stays (§3.3). The old one goes first inside the
// transaction, so that a draft saved again is measured against the quota without its previous
// version; nothing of either is visible until both are done.
net::awaitable<bool> Session::on_replace(const Command& command, const Replace& replace) {
  auto name = mailbox_name(replace.mailbox);
  if (!name) co_return cannot_name(command);
  // Expunging needs a read-write mailbox (RFC 8508 §3.3, as EXPUNGE: RFC 9051 §6.4.3).
  if (selected()->read_only) {
    tagged(command, "NO", "[READ-ONLY] The mailbox is open read-only");
    co_return true;
  }
  storage::AppendOptions options;
  if (auto error = read_append_options(replace.replacement, options)) co_return bad(command.tag, *error);
  sync_changes();
  bool invalid = false;
  const SequenceSet one{{SeqRange{replace.message, replace.message}}};
  auto old = members(command, one, invalid);
  // "*" in an empty mailbox names no message either.
  if (invalid || (old.empty() && !command.uid)) co_return bad(command.tag, "Invalid message sequence number");
  if (old.empty()) {  // UID REPLACE of a UID this mailbox does not hold (or no longer does)
    auto uid = replace.message != 0 ? std::to_string(replace.message) : std::string("*");
    tagged(command, "NO", fmt::format("[NONEXISTENT] No message with UID {} in this mailbox", uid));
    co_return true;
  }
  const auto old_uid = old.front().uid;
  auto prepared = prepare(replace.replacement);
  const auto source = selected()->mailbox.id;
  auto user = account().id;
  std::optional<storage::Failure> failure;
  bool gone = false;  // another session expunged it after this one last looked
  storage::Mailbox target;
  storage::Uid stored = 0;
  auto ok = co_await commit("REPLACE", [&](storage::WriteTxn& txn) {
    failure.reset();
    gone = false;
    auto child = txn.nested();
    if (storage::expunge_messages(child, source, {old_uid}).empty()) {
      gone = true;
      return;
    }
    auto mailbox = storage::find_mailbox(child, user, *name);
    if (!mailbox || mailbox->noselect) {
      failure = storage::fail(storage::Errc::not_found, "No such mailbox");
      return;
    }
    auto result = storage::append_message(child, *mailbox, prepared, options);
    if (!result) {
      failure = result.error();
      return;
    }
    target = *mailbox;
    stored = result->uid;
    child.commit();
  });
  if (!ok) {
    tagged(command, "NO", not_written(ok, "Could not store the message"));
  } else if (failure && failure->code == storage::Errc::not_found) {
    tagged(command, "NO", "[TRYCREATE] No such mailbox");
  } else if (gone) {
    sync_changes();
    report_updates(true);
    tagged(command, "NO", "[EXPUNGEISSUED] The message was expunged meanwhile; nothing was stored");
  } else if (failure) {
    tagged(command, "NO", fmt::format("{}{}", response_code(failure->code), failure->detail));
  } else {
    // The new message's UID comes first, in an untagged OK (RFC 8508 §3.1, APPENDUID: RFC 4315).
    fmt::format_to(std::back_inserter(talk_.out()), "* OK [APPENDUID {} {}] Replacement stored\r\n",
                   target.uid_validity, stored);
    selected()->view.expunged(old_uid);
    sync_changes();
    report_updates(true);
    tagged(command, "OK", "REPLACE completed");
  }
  co_return true;
}

// The messages of the selected mailbox a SEARCH, SORT or THREAD's criteria match, in UID
// order; nullopt when the command was answered NO (charset, limits). Matching runs in slices
// of at most kSearchSlice, each over its own read view, with other sessions served between
// them; all the slices together may take imapd.max_search_time. A message expunged by another
// session meanwhile is simply not matched; one delivered meanwhile is not in this session's
// view yet.
net::awaitable<std::optional<SearchMatches>> Session::find_matches(const Command& command,
                                                                   const SearchRequest& request) {
  const auto& charset = request.charset;
  auto key = request.key;
  if (!charset.empty() && !convert_search_strings(key, charset)) {
    tagged(command, "NO", "[BADCHARSET (UTF-8 US-ASCII)] Unsupported charset");
    co_return std::nullopt;
  }
  const auto& limits = ctx_.services.config.imapd;
  if (auto keys = count_text_keys(key); keys > limits.max_search_text_keys) {
    tagged(command, "NO",
           fmt::format("[LIMIT] {} text keys are more than the {} one search may hold", keys,
                       limits.max_search_text_keys));
    co_return std::nullopt;
  }
  sync_changes();
  auto& view = selected()->view;
  const auto mailbox_id = selected()->mailbox.id;
  SearchScope scope{view.exists(), view.largest_uid(), saved_search_};
  prepare_search(key, scope);
  SearchMatches found;
  found.report_modseq = uses_modseq(key);
  const bool wants_email_id = uses_email_id(key);
  std::string email_id;
  if (found.report_modseq) enabled_.condstore = true;
  auto& seqs = found.seqs;
  auto& uids = found.uids;
  auto& modseqs = found.modseqs;
  StoredMessageSource source;  // the current slice's view and the message being matched
  SearchLoader load = source.loader();
  decltype(SearchMessage::fields) scratch_fields;
  // The text index answers for the messages it has reached: those it excludes are not read.
  std::optional<text_index::SearchFilter> index;
  if (limits.text_index) index.emplace(key);
  if (index && index->empty()) index.reset();
  const auto started = std::chrono::steady_clock::now();
  const auto deadline = started + limits.max_search_time;
  std::optional<storage::Uid> next = 1;  // where the next slice starts; none when all is done
  std::uint32_t examined = 0;
  auto next_progress = std::chrono::steady_clock::now() + kProgressEvery;
  bool over_time = false;
  while (next) {
    auto slice = ctx_.services.store.read();
    source.txn = &slice;
    const auto slice_end = std::min(std::chrono::steady_clock::now() + kSearchSlice, deadline);
    auto first = *next;
    next.reset();
    std::optional<text_index::SegmentCursor> indexed;
    if (index) {
      std::vector<text_index::SegmentCursor::Stored> segments;
      for (const auto& s : storage::text_index_segments(slice, mailbox_id)) segments.push_back({s.first, s.bytes});
      auto state = storage::text_index_state(slice, mailbox_id);
      indexed.emplace(*index, std::move(segments), state.version == text_index::kVersion ? state.through : 0);
    }
    storage::for_each_message_from(slice, mailbox_id, first, [&](const storage::Message& current) {
      if (std::chrono::steady_clock::now() >= slice_end) {  // the rest in the next slice
        next = current.uid;
        return false;
      }
      source.record = &current;
      // Messages the client does not know yet (or no longer) are not in its numbering.
      auto n = view.seq_of(current.uid);
      if (!n) return true;
      ++examined;
      SearchMessage m;
      m.seq = *n;
      m.facts = facts_of(current);
      m.recent = view.is_recent(current.uid);
      if (indexed) m.index = indexed->at(current.uid);
      m.fields = std::move(scratch_fields);  // its capacity, reused from message to message
      if (wants_email_id) {
        email_id = email_id_of(current.blob.bytes);
        m.facts.email_id = email_id;
      }
      if (matches(key, m, scope, load)) {
        seqs.push_back(*n);
        uids.push_back(current.uid);
        modseqs.push_back(current.modseq);
      }
      scratch_fields = std::move(m.fields);
      return true;
    });
    source.txn = nullptr;
    source.structure.reset();  // its views were into the slice's pages
    if (!next) break;
    if (std::chrono::steady_clock::now() >= deadline) {
      over_time = true;
      break;
    }
    // RFC 9585: a search that takes a while says how far it is, once a second, so that the
    // client (and its user) can tell it from a hung server.
    if (auto now = std::chrono::steady_clock::now(); now >= next_progress) {
      next_progress = now + kProgressEvery;
      fmt::format_to(std::back_inserter(talk_.out()), "* OK [INPROGRESS (\"{}\" {} {})] Searching\r\n", command.tag,
                     examined, view.exists());
      if (!co_await talk_.flush()) co_return std::nullopt;
    }
    co_await net::yield_to_others();
  }
  if (over_time) {
    log::info(talk_.id(), "search_limit", "mailbox={} seconds={}", log::quoted(selected()->mailbox.name),
              limits.max_search_time.count());
    tagged(command, "NO",
           fmt::format("[LIMIT] The search ran past its limit of {} s; narrow it", limits.max_search_time.count()));
    co_return std::nullopt;
  }
  log::debug(talk_.id(), "search", "mailbox={} examined={} read={} matched={} ms={}",
             log::quoted(selected()->mailbox.name), examined, source.read, uids.size(),
             std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count());
  index.reset();  // it holds the key's strings
  found.key = std::move(key);
  found.scope = std::move(scope);
  co_return found;
}

namespace {

// The highest MODSEQ of the messages an ESEARCH answer names (RFC 7162 §3.1.5 with RFC 4731):
// MIN, MAX and PARTIAL alone name only those, ALL and COUNT (or nothing) every match.
// `modseqs` are in the order of `order` (indexes into them, the requested order).
std::uint64_t highest_named_modseq(const SearchRequest& request, const std::vector<std::uint64_t>& modseqs,
                                   const std::vector<std::size_t>& order) {
  if (order.empty()) return 0;
  const auto returns = request.returns;
  const bool some = request.extended && !(returns & (SearchRequest::kAll | SearchRequest::kCount)) &&
                    (returns & (SearchRequest::kMin | SearchRequest::kMax | SearchRequest::kPartial));
  std::uint64_t highest = 0;
  auto name = [&](std::size_t i) { highest = std::max(highest, modseqs[order[i]]); };
  if (!some) {
    for (std::size_t i = 0; i < order.size(); ++i) name(i);
    return highest;
  }
  if (returns & SearchRequest::kMin) name(0);
  if (returns & SearchRequest::kMax) name(order.size() - 1);
  if (returns & SearchRequest::kPartial)
    for (auto i = std::size_t{request.partial_first} - 1; i < request.partial_last && i < order.size(); ++i) name(i);
  return highest;
}

// `* ESEARCH (TAG "t") [UID] ...` of a SEARCH or SORT (RFC 4731 §3.1, RFC 5267 §3.1, §4.4):
// `result` is in the requested order.
void append_esearch(std::string& out, const Command& command, const SearchRequest& request,
                    const std::vector<std::uint32_t>& result, std::optional<std::uint64_t> modseq) {
  const auto returns = request.returns;
  fmt::format_to(std::back_inserter(out), "* ESEARCH (TAG \"{}\"){}", command.tag, command.uid ? " UID" : "");
  if ((returns & SearchRequest::kMin) && !result.empty())
    fmt::format_to(std::back_inserter(out), " MIN {}", result.front());
  if ((returns & SearchRequest::kMax) && !result.empty())
    fmt::format_to(std::back_inserter(out), " MAX {}", result.back());
  if ((returns & SearchRequest::kAll) && !result.empty())
    fmt::format_to(std::back_inserter(out), " ALL {}", format_set(result));
  if (returns & SearchRequest::kCount) fmt::format_to(std::back_inserter(out), " COUNT {}", result.size());
  if (returns & SearchRequest::kPartial) out += partial_data(result, request.partial_first, request.partial_last);
  if (modseq && !result.empty()) fmt::format_to(std::back_inserter(out), " MODSEQ {}", *modseq);
  out += "\r\n";
}

}  // namespace

// RFC 5267 §4.3: a searching command may not reuse the tag of one whose updates continue.
bool Session::refuses_reused_tag(const Command& command, const SearchRequest& request) {
  if (!(request.returns & SearchRequest::kUpdate) || !context_tag_in_use(command.tag)) return false;
  bad(command.tag, "Tag reuse: updates of a search with this tag continue (CANCELUPDATE it)");
  return true;
}

// RFC 9051 §6.4.4 (ESEARCH: RFC 4731; SEARCHRES: RFC 5182; MODSEQ: RFC 7162 §3.1.5; CONTEXT,
// UPDATE, PARTIAL: RFC 5267 §4).
net::awaitable<bool> Session::on_search(const Command& command, const Search& search) {
  if (refuses_reused_tag(command, search.request)) co_return true;
  auto matches = co_await find_matches(command, search.request);
  if (!matches) co_return true;
  const auto& seqs = matches->seqs;
  const auto& uids = matches->uids;
  const auto& modseqs = matches->modseqs;
  const bool report_modseq = matches->report_modseq;
  auto request = search.request;
  if (enabled_.imap4rev2 && !request.extended) {  // RFC 9051 §6.4.4: IMAP4rev2 answers with ESEARCH
    request.extended = true;
    request.returns = SearchRequest::kAll;
  }
  const auto& result = command.uid ? uids : seqs;
  if (request.returns & SearchRequest::kSave) saved_search_ = uids;
  std::vector<std::size_t> order(result.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  const auto highest_modseq = highest_named_modseq(request, modseqs, order);
  if (!request.extended) {
    talk_.out() += "* SEARCH";
    for (auto n : result) fmt::format_to(std::back_inserter(talk_.out()), " {}", n);
    if (report_modseq && !result.empty())
      fmt::format_to(std::back_inserter(talk_.out()), " (MODSEQ {})", highest_modseq);
    talk_.out() += "\r\n";
  } else if (request.returns != SearchRequest::kSave) {  // RFC 5182 §2.4: SAVE alone answers nothing
    append_esearch(talk_.out(), command, request, result, report_modseq ? std::optional(highest_modseq) : std::nullopt);
  }
  if (request.returns & SearchRequest::kUpdate) start_updating(command, *matches, uids, {});
  report_updates(command.uid);
  tagged(command, "OK", fmt::format("{} completed", command.name));
  co_return true;
}

// What SORT and THREAD read of the matched messages (envelope, and References for
// THREAD=REFERENCES), in slices as the search itself. A message expunged meanwhile is left
// out.
net::awaitable<std::vector<SortMessage>> Session::sort_messages(const SearchMatches& matches, bool references) {
  std::vector<SortMessage> out;
  out.reserve(matches.uids.size());
  const auto mailbox_id = selected()->mailbox.id;
  std::size_t i = 0;
  while (i < matches.uids.size()) {
    {
      auto txn = ctx_.services.store.read();
      const auto slice_end = std::chrono::steady_clock::now() + kSearchSlice;
      for (; i < matches.uids.size() && std::chrono::steady_clock::now() < slice_end; ++i) {
        auto record = storage::find_message(txn, mailbox_id, matches.uids[i]);
        if (!record) continue;
        auto m = sort_message_of(txn, *record, references);
        if (!m) continue;
        m->seq = matches.seqs[i];
        out.push_back(std::move(*m));
      }
    }
    if (i < matches.uids.size()) co_await net::yield_to_others();
  }
  co_return out;
}

// RFC 5256 §3 SORT (SORT=DISPLAY: RFC 5957; RETURN: RFC 5267 ESORT, CONTEXT=SORT; MODSEQ:
// RFC 7162 §3.1.5).
net::awaitable<bool> Session::on_sort(const Command& command, const Sort& sort) {
  if (refuses_reused_tag(command, sort.request)) co_return true;
  auto matches = co_await find_matches(command, sort.request);
  if (!matches) co_return true;
  auto messages = co_await sort_messages(*matches, false);
  auto order = sort_order(messages, sort.criteria);
  std::vector<std::uint32_t> result;
  result.reserve(order.size());
  for (auto i : order) result.push_back(command.uid ? messages[i].uid : messages[i].seq);
  // Each sorted message's MODSEQ (the matches are in UID order; a message expunged meanwhile
  // is not among the sorted).
  std::vector<std::uint64_t> modseqs;
  modseqs.reserve(messages.size());
  for (const auto& m : messages) {
    auto at = std::lower_bound(matches->uids.begin(), matches->uids.end(), m.uid) - matches->uids.begin();
    modseqs.push_back(matches->modseqs[static_cast<std::size_t>(at)]);
  }
  const auto highest_modseq = highest_named_modseq(sort.request, modseqs, order);
  auto& out = talk_.out();
  if (!sort.request.extended) {
    out += "* SORT";
    for (auto n : result) fmt::format_to(std::back_inserter(out), " {}", n);
    if (matches->report_modseq && !result.empty())
      fmt::format_to(std::back_inserter(out), " (MODSEQ {})", highest_modseq);
    out += "\r\n";
  } else {
    // RFC 5267 §3.1: MIN and MAX are the first and last in sort order, ALL (and PARTIAL) the
    // sort order.
    append_esearch(out, command, sort.request, result,
                   matches->report_modseq ? std::optional(highest_modseq) : std::nullopt);
  }
  if (sort.request.returns & SearchRequest::kUpdate) {
    std::vector<storage::Uid> sorted;
    sorted.reserve(order.size());
    for (auto i : order) sorted.push_back(messages[i].uid);
    start_updating(command, *matches, std::move(sorted), sort.criteria);
  }
  report_updates(command.uid);
  tagged(command, "OK", fmt::format("{} completed", command.name));
  co_return true;
}

// RFC 5256 §3 THREAD, ORDEREDSUBJECT and REFERENCES (§4).
net::awaitable<bool> Session::on_thread(const Command& command, const Thread& thread) {
  auto matches = co_await find_matches(command, thread.request);
  if (!matches) co_return true;
  auto messages = co_await sort_messages(*matches, thread.algorithm == ThreadAlgorithm::references);
  auto threads = thread_messages(messages, thread.algorithm);
  auto& out = talk_.out();
  out += "* THREAD";
  if (!threads.empty()) {
    out += ' ';
    out += format_threads(threads, messages, command.uid);
  }
  out += "\r\n";
  report_updates(command.uid);
  tagged(command, "OK", fmt::format("{} completed", command.name));
  co_return true;
}

// Removes \Deleted messages (all, or those among `only` when it is not empty) and reports
// them; returns the UIDs removed.
net::awaitable<std::vector<storage::Uid>> Session::expunge(const std::vector<storage::Uid>& only) {
  const auto mailbox_id = selected()->mailbox.id;
  std::vector<storage::Uid> removed;
  auto ok = co_await commit("EXPUNGE", [&](storage::WriteTxn& txn) {
    if (only.empty()) {
      removed = storage::expunge_deleted(txn, mailbox_id);
      return;
    }
    std::vector<storage::Uid> deleted;
    for (auto uid : only)
      if (auto m = storage::find_message(txn, mailbox_id, uid); m && (m->flags & storage::kDeleted))
        deleted.push_back(uid);
    removed = storage::expunge_messages(txn, mailbox_id, deleted);
  });
  if (!ok) co_return std::vector<storage::Uid>{};
  for (auto uid : removed) selected()->view.expunged(uid);
  co_return removed;
}

// RFC 9051 §6.4.3 (UID EXPUNGE: §6.4.9, RFC 4315 §2.1).
net::awaitable<bool> Session::on_expunge(const Command& command, const Expunge& expunge_command) {
  if (selected()->read_only) {
    tagged(command, "NO", "[READ-ONLY] The mailbox is open read-only");
    co_return true;
  }
  sync_changes();
  std::vector<storage::Uid> only;
  if (expunge_command.uids) {
    bool invalid = false;
    for (const auto& m : members(command, *expunge_command.uids, invalid)) only.push_back(m.uid);
    if (only.empty()) {
      report_updates(true);
      tagged(command, "OK", "UID EXPUNGE completed");
      co_return true;
    }
  }
  co_await expunge(only);
  report_updates(true);
  tagged(command, "OK", fmt::format("{} completed", command.name));
  co_return true;
}

// RFC 3691.
bool Session::on_unselect(const Command& command, const Unselect&) {
  deselect();
  tagged(command, "OK", "UNSELECT completed");
  return true;
}

// RFC 9051 §6.4.1 (CLOSE in IMAP4rev2; RFC 3501 §6.4.2).
net::awaitable<bool> Session::on_close(const Command& command, const Close&) {
  // CLOSE expunges silently (RFC 9051 §6.4.1): no EXPUNGE responses.
  if (!selected()->read_only) co_await expunge({});
  deselect();
  tagged(command, "OK", "CLOSE completed");
  co_return true;
}

}  // namespace mailstead::imap
