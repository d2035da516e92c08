#include "storage/mailboxes.hpp"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>

#include "common/sasl/sasl.hpp"
#include "storage/address.hpp"
#include "storage/codec.hpp"
#include "storage/detail/lmdb.hpp"

namespace mailstead::storage {
namespace {

constexpr std::uint8_t kMailboxFormat = 1;
constexpr std::size_t kMaxMailboxName = 1024;

std::string encode(const Mailbox& m) {
  return codec::Writer(kMailboxFormat)
      .str(m.name)
      .u64(m.uid_validity)
      .u64(m.uid_next)
      .u64(m.highest_modseq)
      .u64(static_cast<std::uint64_t>(m.special_use))
      .boolean(m.subscribed)
      .take();
}

Mailbox decode(UserId user, MailboxId id, std::string_view bytes) {
  codec::Reader r(bytes, "mailbox");
  Mailbox m;
  m.id = id;
  m.user = user;
  m.name = r.str();
  m.uid_validity = r.u32();
  m.uid_next = r.u32();
  m.highest_modseq = r.u64();
  auto use = r.u64();
  m.special_use = use <= static_cast<std::uint64_t>(SpecialUse::archive) ? static_cast<SpecialUse>(use) : SpecialUse::none;
  m.subscribed = r.boolean();
  return m;
}

std::string index_key(UserId user, std::string_view name) {
  auto key = codec::key_u32(user);
  key += name;
  return key;
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
  m.subscribed = subscribed;
  t.put(t.dbs().mailboxes, codec::key_u32_u32(user, m.id), encode(m));
  t.put(t.dbs().mailbox_index, index_key(user, name), codec::key_u32(m.id));
  return m;
}

}  // namespace

std::string_view to_imap_attribute(SpecialUse use) {
  switch (use) {
    case SpecialUse::none: return "";
    case SpecialUse::sent: return "\\Sent";
    case SpecialUse::drafts: return "\\Drafts";
    case SpecialUse::trash: return "\\Trash";
    case SpecialUse::junk: return "\\Junk";
    case SpecialUse::archive: return "\\Archive";
  }
  return "";
}

Result<std::string> normalize_mailbox_name(std::string_view name, char separator) {
  if (name.empty()) return fail(Errc::invalid_argument, "a mailbox name cannot be empty");
  if (name.size() > kMaxMailboxName) return fail(Errc::invalid_argument, "the mailbox name is too long");
  if (!sasl::valid_utf8(name)) return fail(Errc::invalid_argument, "the mailbox name is not valid UTF-8");
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

Result<Mailbox> create_mailbox(WriteTxn& txn, UserId user, std::string_view name, SpecialUse special_use,
                               bool subscribed) {
  char separator = txn.state().options().hierarchy_separator;
  auto normalized = normalize_mailbox_name(name, separator);
  if (!normalized) return normalized.error();
  auto& t = txn.state();
  if (t.get(t.dbs().mailbox_index, index_key(user, *normalized)))
    return fail(Errc::already_exists, fmt::format("mailbox \"{}\" already exists", *normalized));
  for (auto at = normalized->find(separator); at != std::string::npos; at = normalized->find(separator, at + 1)) {
    auto parent = normalized->substr(0, at);
    if (!t.get(t.dbs().mailbox_index, index_key(user, parent))) insert(txn, user, parent, SpecialUse::none, subscribed);
  }
  return insert(txn, user, *normalized, special_use, subscribed);
}

Result<Mailbox> find_mailbox(const ReadTxn& txn, UserId user, std::string_view name) {
  const auto& t = txn.state();
  auto normalized = normalize_mailbox_name(name, t.options().hierarchy_separator);
  if (!normalized) return fail(Errc::not_found, fmt::format("no mailbox \"{}\"", name));
  auto id = t.get(t.dbs().mailbox_index, index_key(user, *normalized));
  if (!id) return fail(Errc::not_found, fmt::format("no mailbox \"{}\"", *normalized));
  auto mailbox_id = codec::get_u32be(*id);
  auto bytes = t.get(t.dbs().mailboxes, codec::key_u32_u32(user, mailbox_id));
  if (!bytes) throw StorageError(Errc::corrupt, fmt::format("mailbox index points at missing mailbox {}", mailbox_id));
  return decode(user, mailbox_id, *bytes);
}

std::vector<Mailbox> list_mailboxes(const ReadTxn& txn, UserId user) {
  std::vector<Mailbox> out;
  const auto& t = txn.state();
  t.scan(t.dbs().mailboxes, codec::key_u32(user), [&](std::string_view key, std::string_view value) {
    out.push_back(decode(user, codec::get_u32be(key, 4), value));
    return true;
  });
  std::sort(out.begin(), out.end(), [](const Mailbox& a, const Mailbox& b) {
    if ((a.name == "INBOX") != (b.name == "INBOX")) return a.name == "INBOX";
    return a.name < b.name;
  });
  return out;
}

Result<void> set_subscribed(WriteTxn& txn, UserId user, std::string_view name, bool subscribed) {
  auto mailbox = find_mailbox(txn, user, name);
  if (!mailbox) return mailbox.error();
  mailbox->subscribed = subscribed;
  txn.state().put(txn.state().dbs().mailboxes, codec::key_u32_u32(user, mailbox->id), encode(*mailbox));
  return {};
}

Result<void> create_default_mailboxes(WriteTxn& txn, UserId user) {
  static const std::pair<std::string_view, SpecialUse> kDefaults[] = {
      {"INBOX", SpecialUse::none}, {"Sent", SpecialUse::sent},   {"Drafts", SpecialUse::drafts},
      {"Trash", SpecialUse::trash}, {"Junk", SpecialUse::junk}, {"Archive", SpecialUse::archive}};
  for (auto [name, use] : kDefaults) {
    auto made = create_mailbox(txn, user, name, use, true);
    if (!made) return made.error();
  }
  return {};
}

void remove_all_mailboxes(WriteTxn& txn, UserId user) {
  auto& t = txn.state();
  std::vector<std::string> keys, index_keys;
  t.scan(t.dbs().mailboxes, codec::key_u32(user), [&](std::string_view key, std::string_view value) {
    keys.emplace_back(key);
    index_keys.push_back(index_key(user, decode(user, codec::get_u32be(key, 4), value).name));
    return true;
  });
  for (const auto& k : keys) t.erase(t.dbs().mailboxes, k);
  for (const auto& k : index_keys) t.erase(t.dbs().mailbox_index, k);
}

}  // namespace mailstead::storage
