#include "storage/mailboxes.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "common/text/utf8.hpp"
#include "storage/address.hpp"
#include "storage/changes.hpp"
#include "storage/detail/codec.hpp"
#include "storage/detail/lmdb.hpp"
#include "storage/detail/metadata.hpp"
#include "storage/detail/subscriptions.hpp"
#include "storage/detail/text_index.hpp"
#include "storage/import_ledger.hpp"
#include "storage/messages.hpp"

namespace mailstead::storage {
namespace {

// Format 2 dropped the subscription flag: subscriptions are names of their own (subscribed()),
// since a subscription outlives its mailbox (RFC 9051 §6.3.7).
constexpr std::uint8_t kMailboxFormat = 2;
// A name is part of its index key (user id + name), and LMDB keys hold at most 511 bytes: a
// longer name would fail deep in a write instead of being refused here. Cyrus allows 490.
constexpr std::size_t kMaxMailboxName = 500;
constexpr std::size_t kMaxSubscriptions = 10000;

std::string encode(const Mailbox& m) {
  return codec::Writer(kMailboxFormat)
      .u64(m.user)
      .str(m.name)
      .u64(m.uid_validity)
      .u64(m.uid_next)
      .u64(m.highest_modseq)
      .u64(static_cast<std::uint64_t>(m.special_use))
      .boolean(m.noselect)
      .u64(m.messages)
      .u64(m.bytes)
      .u64(m.recent_floor)
      .take();
}

// `legacy_subscribed`: a format 1 record's subscription flag, for the store's upgrade.
Mailbox decode(MailboxId id, std::string_view bytes, bool* legacy_subscribed = nullptr) {
  codec::Reader r(bytes, "mailbox");
  Mailbox m;
  m.id = id;
  m.user = r.u32();
  m.name = r.str();
  m.uid_validity = r.u32();
  m.uid_next = r.u32();
  m.highest_modseq = r.u64();
  auto use = r.u64();
  m.special_use =
      use <= static_cast<std::uint64_t>(SpecialUse::archive) ? static_cast<SpecialUse>(use) : SpecialUse::none;
  if (r.format() == 1) {
    bool subscribed = r.boolean();
    if (legacy_subscribed) *legacy_subscribed = subscribed;
  }
  m.noselect = r.boolean();
  m.messages = r.u64();
  m.bytes = r.u64();
  // Added later at the end: a record written before has had its messages announced.
  m.recent_floor = r.at_end() ? m.uid_next : r.u32();
  return m;
}

std::string index_key(UserId user, std::string_view name) {
  auto key = codec::key_u32(user);
  key += name;
  return key;
}

void subscribe(detail::TxnState& t, UserId user, std::string_view name) {
  t.put(t.dbs().subscriptions, index_key(user, name), "");
}

std::uint32_t next_uid_validity(detail::TxnState& t) {
  auto now = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
  auto value = t.next_counter("next_uid_validity", now);
  return static_cast<std::uint32_t>(value == 0 ? 1 : value);
}

Mailbox insert(WriteTxn& txn, UserId user, const std::string& name, SpecialUse use, bool subscribed) {
  auto& t = txn.state();
  Mailbox m;
  m.id = static_cast<MailboxId>(t.next_counter("next_mailbox_id", 1));
  m.user = user;
  m.name = name;
  m.uid_validity = next_uid_validity(t);
  m.special_use = use;
  save_mailbox(txn, m);
  t.put(t.dbs().mailbox_index, index_key(user, name), codec::key_u32(m.id));
  if (subscribed) subscribe(t, user, name);
  return m;
}

// The mailbox and every mailbox below it, in name order.
std::vector<Mailbox> subtree(const ReadTxn& txn, UserId user, const std::string& name) {
  std::vector<Mailbox> out;
  std::string children = name + txn.state().options().hierarchy_separator;
  for (auto& m : list_mailboxes(txn, user))
    if (m.name == name || m.name.starts_with(children)) out.push_back(std::move(m));
  return out;
}

void create_parents(WriteTxn& txn, UserId user, const std::string& name, bool subscribed) {
  auto& t = txn.state();
  char separator = t.options().hierarchy_separator;
  for (auto at = name.find(separator); at != std::string::npos; at = name.find(separator, at + 1)) {
    auto parent = name.substr(0, at);
    if (!t.get(t.dbs().mailbox_index, index_key(user, parent))) insert(txn, user, parent, SpecialUse::none, subscribed);
  }
}

}  // namespace

std::string_view to_imap_attribute(SpecialUse use) {
  switch (use) {
    case SpecialUse::none:
      return "";
    case SpecialUse::sent:
      return "\\Sent";
    case SpecialUse::drafts:
      return "\\Drafts";
    case SpecialUse::trash:
      return "\\Trash";
    case SpecialUse::junk:
      return "\\Junk";
    case SpecialUse::archive:
      return "\\Archive";
  }
  return "";
}

Result<std::string> normalize_mailbox_name(std::string_view name, char separator) {
  if (name.empty()) return fail(Errc::invalid_argument, "a mailbox name cannot be empty");
  if (name.size() > kMaxMailboxName) return fail(Errc::invalid_argument, "the mailbox name is too long");
  if (!text::valid_utf8(name)) return fail(Errc::invalid_argument, "the mailbox name is not valid UTF-8");
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return fail(Errc::invalid_argument, "the mailbox name holds a control character");
  }
  std::string sep(1, separator);
  if (name.starts_with(sep) || name.ends_with(sep) || name.find(sep + sep) != std::string_view::npos)
    return fail(Errc::invalid_argument, fmt::format("\"{}\" has an empty hierarchy level", name));
  std::string out(name);
  auto first = name.substr(0, name.find(separator));
  if (lower_ascii(first) == "inbox") out.replace(0, first.size(), "INBOX");
  return out;
}

Result<std::uint32_t> claim_recent(WriteTxn& txn, MailboxId id) {
  auto mailbox = mailbox_by_id(txn, id);
  if (!mailbox) return mailbox.error();
  auto old = mailbox->recent_floor;
  if (old < mailbox->uid_next) {
    mailbox->recent_floor = mailbox->uid_next;
    save_mailbox(txn, *mailbox);
  }
  return old;
}

void save_mailbox(WriteTxn& txn, const Mailbox& mailbox) {
  txn.state().put(txn.state().dbs().mailboxes, codec::key_u32(mailbox.id), encode(mailbox));
}

Result<Mailbox> create_mailbox(WriteTxn& txn, UserId user, std::string_view name, SpecialUse special_use,
                               bool subscribed) {
  char separator = txn.state().options().hierarchy_separator;
  auto normalized = normalize_mailbox_name(name, separator);
  if (!normalized) return normalized.error();
  if (auto existing = find_mailbox(txn, user, *normalized)) {
    if (!existing->noselect)
      return fail(Errc::already_exists, fmt::format("mailbox \"{}\" already exists", *normalized));
    existing->noselect = false;  // CREATE over a \Noselect name makes it selectable again
    existing->special_use = special_use;
    save_mailbox(txn, *existing);
    return *existing;
  }
  create_parents(txn, user, *normalized, subscribed);
  return insert(txn, user, *normalized, special_use, subscribed);
}

Result<Mailbox> mailbox_by_id(const ReadTxn& txn, MailboxId id) {
  auto bytes = txn.state().get(txn.state().dbs().mailboxes, codec::key_u32(id));
  if (!bytes) return fail(Errc::not_found, fmt::format("no mailbox with id {}", id));
  return decode(id, *bytes);
}

Result<Mailbox> find_mailbox(const ReadTxn& txn, UserId user, std::string_view name) {
  const auto& t = txn.state();
  auto normalized = normalize_mailbox_name(name, t.options().hierarchy_separator);
  if (!normalized) return fail(Errc::not_found, fmt::format("no mailbox \"{}\"", name));
  auto id = t.get(t.dbs().mailbox_index, index_key(user, *normalized));
  if (!id) return fail(Errc::not_found, fmt::format("no mailbox \"{}\"", *normalized));
  auto mailbox = mailbox_by_id(txn, codec::get_u32be(*id));
  if (!mailbox)
    throw StorageError(Errc::corrupt, fmt::format("mailbox index of \"{}\" points at nothing", *normalized));
  return mailbox;
}

std::vector<Mailbox> list_mailboxes(const ReadTxn& txn, UserId user) {
  std::vector<Mailbox> out;
  const auto& t = txn.state();
  t.scan(t.dbs().mailbox_index, codec::key_u32(user), [&](std::string_view, std::string_view id) {
    auto mailbox = mailbox_by_id(txn, codec::get_u32be(id));
    if (!mailbox) throw StorageError(Errc::corrupt, "mailbox index points at nothing");
    out.push_back(std::move(*mailbox));
    return true;
  });
  std::stable_sort(out.begin(), out.end(), [](const Mailbox& a, const Mailbox& b) {
    bool a_inbox = a.name == "INBOX", b_inbox = b.name == "INBOX";
    return a_inbox != b_inbox ? a_inbox : a.name < b.name;
  });
  return out;
}

Result<void> set_subscribed(WriteTxn& txn, UserId user, std::string_view name, bool subscribed) {
  auto& t = txn.state();
  auto normalized = normalize_mailbox_name(name, t.options().hierarchy_separator);
  if (!normalized) return normalized.error();
  if (subscribed) {
    if (t.get(t.dbs().subscriptions, index_key(user, *normalized))) return {};
    // Names need no mailbox, so nothing else bounds them: a client that subscribes in a loop
    // would make every LSUB slower for ever.
    std::size_t held = 0;
    t.scan(t.dbs().subscriptions, codec::key_u32(user),
           [&held](std::string_view, std::string_view) { return ++held < kMaxSubscriptions; });
    if (held >= kMaxSubscriptions)
      return fail(Errc::limit, fmt::format("a user holds at most {} subscriptions", kMaxSubscriptions));
    subscribe(t, user, *normalized);
    return {};
  }
  if (!t.erase(t.dbs().subscriptions, index_key(user, *normalized)))
    return fail(Errc::not_found, fmt::format("\"{}\" is not subscribed", *normalized));
  return {};
}

std::vector<std::string> subscribed(const ReadTxn& txn, UserId user) {
  std::vector<std::string> out;
  const auto& t = txn.state();
  auto prefix = codec::key_u32(user);
  t.scan(t.dbs().subscriptions, prefix, [&](std::string_view key, std::string_view) {
    out.emplace_back(key.substr(prefix.size()));
    return true;
  });
  return out;
}

bool is_subscribed(const ReadTxn& txn, UserId user, std::string_view name) {
  const auto& t = txn.state();
  return t.get(t.dbs().subscriptions, index_key(user, name)).has_value();
}

void for_each_mailbox(const ReadTxn& txn, const std::function<bool(const Mailbox&)>& fn) {
  const auto& t = txn.state();
  t.scan(t.dbs().mailboxes, "",
         [&fn](std::string_view key, std::string_view value) { return fn(decode(codec::get_u32be(key), value)); });
}

Result<void> rename_mailbox(WriteTxn& txn, UserId user, std::string_view from, std::string_view to) {
  auto& t = txn.state();
  char separator = t.options().hierarchy_separator;
  auto source = find_mailbox(txn, user, from);
  if (!source) return source.error();
  auto target_name = normalize_mailbox_name(to, separator);
  if (!target_name) return target_name.error();
  if (find_mailbox(txn, user, *target_name))
    return fail(Errc::already_exists, fmt::format("mailbox \"{}\" already exists", *target_name));
  if (target_name->starts_with(source->name + separator))
    return fail(Errc::invalid_argument, "a mailbox cannot be moved below itself");
  const bool source_subscribed = is_subscribed(txn, user, source->name);
  if (source->name == "INBOX") {
    auto target = create_mailbox(txn, user, *target_name, SpecialUse::none, source_subscribed);
    if (!target) return target.error();
    detail::copy_metadata(t, source->id, target->id);  // RFC 5464 §4.1: INBOX keeps its own too
    auto moved = move_messages(txn, source->id, list_uids(txn, source->id), *target);
    if (!moved) return moved.error();
    return {};
  }
  create_parents(txn, user, *target_name, source_subscribed);
  // Subscriptions move with their mailboxes, as clients expect (RFC 9051 §6.3.6 leaves it to
  // the server); one to a name below the old one that has no mailbox stays where it is.
  for (auto m : subtree(txn, user, source->name)) {
    auto old_name = m.name;
    t.erase(t.dbs().mailbox_index, index_key(user, m.name));
    m.name = *target_name + m.name.substr(source->name.size());
    t.put(t.dbs().mailbox_index, index_key(user, m.name), codec::key_u32(m.id));
    save_mailbox(txn, m);
    if (t.erase(t.dbs().subscriptions, index_key(user, old_name))) subscribe(t, user, m.name);
  }
  return {};
}

Result<void> delete_mailbox(WriteTxn& txn, UserId user, std::string_view name) {
  auto mailbox = find_mailbox(txn, user, name);
  if (!mailbox) return mailbox.error();
  if (mailbox->name == "INBOX") return fail(Errc::invalid_argument, "INBOX cannot be deleted");
  bool has_children = subtree(txn, user, mailbox->name).size() > 1;
  if (has_children && mailbox->noselect)
    return fail(Errc::not_empty, fmt::format("\"{}\" has child mailboxes; delete them first", mailbox->name));
  expunge_messages(txn, mailbox->id, list_uids(txn, mailbox->id));
  // Sessions that have it selected must hear of it even when it held no messages.
  detail::record_change(txn, user, mailbox->id, 0, ChangeKind::mailbox_deleted);
  auto& t = txn.state();
  detail::remove_metadata(t, mailbox->id);  // RFC 5464 §4.1: a new mailbox of the name starts bare
  detail::remove_text_index(t, mailbox->id);
  if (has_children) {
    auto emptied = mailbox_by_id(txn, mailbox->id);
    emptied->noselect = true;
    save_mailbox(txn, *emptied);
    return {};
  }
  forget_imports(txn, mailbox->id);
  t.erase(t.dbs().mailbox_index, index_key(user, mailbox->name));
  t.erase(t.dbs().mailboxes, codec::key_u32(mailbox->id));
  return {};
}

Result<void> create_default_mailboxes(WriteTxn& txn, UserId user) {
  static const std::pair<std::string_view, SpecialUse> kDefaults[] = {
      {"INBOX", SpecialUse::none},  {"Sent", SpecialUse::sent}, {"Drafts", SpecialUse::drafts},
      {"Trash", SpecialUse::trash}, {"Junk", SpecialUse::junk}, {"Archive", SpecialUse::archive}};
  for (auto [name, use] : kDefaults) {
    auto made = create_mailbox(txn, user, name, use, true);
    if (!made) return made.error();
  }
  return {};
}

void remove_all_mailboxes(WriteTxn& txn, UserId user) {
  auto& t = txn.state();
  for (const auto& name : subscribed(txn, user)) t.erase(t.dbs().subscriptions, index_key(user, name));
  for (const auto& m : list_mailboxes(txn, user)) {
    expunge_messages(txn, m.id, list_uids(txn, m.id));
    detail::record_change(txn, user, m.id, 0, ChangeKind::mailbox_deleted);
    detail::remove_metadata(t, m.id);
    detail::remove_text_index(t, m.id);
    forget_imports(txn, m.id);
    t.erase(t.dbs().mailbox_index, index_key(user, m.name));
    t.erase(t.dbs().mailboxes, codec::key_u32(m.id));
  }
}

namespace detail {

void move_subscriptions_out_of_mailboxes(TxnState& t) {
  std::vector<std::pair<MailboxId, Mailbox>> records;  // read first: no writes during the scan
  std::vector<bool> subscribed_flags;
  t.scan(t.dbs().mailboxes, "", [&](std::string_view key, std::string_view value) {
    bool flag = false;
    auto id = codec::get_u32be(key);
    records.emplace_back(id, decode(id, value, &flag));
    subscribed_flags.push_back(flag);
    return true;
  });
  for (std::size_t i = 0; i < records.size(); ++i) {
    const auto& m = records[i].second;
    t.put(t.dbs().mailboxes, codec::key_u32(m.id), encode(m));
    if (subscribed_flags[i]) subscribe(t, m.user, m.name);
  }
}

}  // namespace detail

}  // namespace mailstead::storage
