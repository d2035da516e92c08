#include "storage/metadata.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "common/text/ascii.hpp"
#include "storage/detail/codec.hpp"
#include "storage/detail/lmdb.hpp"
#include "storage/detail/metadata.hpp"

namespace mailstead::storage {
namespace {

// Key: u32 mailbox id, u32 user id (0 for a shared entry), lower-cased name. Value: the name
// as first written, then the value.
constexpr UserId kShared = 0;

std::string entry_key(MailboxId mailbox, UserId user, std::string_view name) {
  return codec::key_u32_u32(mailbox, is_private_entry(name) ? user : kShared) + text::lower_ascii(name);
}

MetadataEntry decode_entry(std::string_view record) {
  codec::Reader r(record, "metadata");
  MetadataEntry e;
  e.name = r.str();
  e.value = r.str();
  return e;
}

std::size_t count_under(const detail::TxnState& t, const std::string& prefix) {
  std::size_t n = 0;
  t.scan(t.dbs().metadata, prefix, [&n](std::string_view, std::string_view) { return ++n, true; });
  return n;
}

}  // namespace

bool is_private_entry(std::string_view name) {
  return name.size() >= 9 && text::iequals_ascii(name.substr(0, 9), "/private/");
}

std::vector<MetadataEntry> metadata_of(const ReadTxn& txn, UserId user, MailboxId mailbox) {
  const auto& t = txn.state();
  std::map<std::string, MetadataEntry> by_key;  // shared and private entries, merged in name order
  for (UserId scope : {kShared, user}) {
    auto prefix = codec::key_u32_u32(mailbox, scope);
    t.scan(t.dbs().metadata, prefix, [&](std::string_view key, std::string_view value) {
      by_key.emplace(std::string(key.substr(prefix.size())), decode_entry(value));
      return true;
    });
  }
  std::vector<MetadataEntry> out;
  out.reserve(by_key.size());
  for (auto& [key, entry] : by_key) out.push_back(std::move(entry));
  return out;
}

std::size_t count_metadata(const ReadTxn& txn, UserId owner) {
  const auto& t = txn.state();
  std::size_t n = count_under(t, codec::key_u32_u32(kServerMetadata, owner));
  for (const auto& m : list_mailboxes(txn, owner)) n += count_under(t, codec::key_u32(m.id));
  return n;
}

Result<void> set_metadata(WriteTxn& txn, UserId user, UserId owner, MailboxId mailbox,
                          const std::vector<MetadataChange>& changes, const MetadataLimits& limits) {
  auto& t = txn.state();
  std::size_t held = count_metadata(txn, owner);
  for (const auto& change : changes) {
    auto key = entry_key(mailbox, user, change.name);
    if (!change.value) {
      if (t.erase(t.dbs().metadata, key)) --held;
      continue;
    }
    std::string name = change.name;
    if (auto existing = t.get(t.dbs().metadata, key)) {
      name = decode_entry(*existing).name;  // the name keeps the case it was first written in
    } else if (++held > limits.max_entries) {
      return fail(Errc::limit, fmt::format("a user holds at most {} annotations", limits.max_entries));
    }
    t.put(t.dbs().metadata, key, codec::Writer(1).str(name).str(*change.value).take());
  }
  return {};
}

namespace detail {

void remove_metadata(TxnState& t, MailboxId mailbox) {
  t.erase_under(t.dbs().metadata, codec::key_u32(mailbox));
}

void copy_metadata(TxnState& t, MailboxId from, MailboxId to) {
  std::vector<std::pair<std::string, std::string>> entries;
  auto prefix = codec::key_u32(from);
  t.scan(t.dbs().metadata, prefix, [&](std::string_view key, std::string_view value) {
    entries.emplace_back(codec::key_u32(to) + std::string(key.substr(prefix.size())), value);
    return true;
  });
  for (const auto& [key, value] : entries) t.put(t.dbs().metadata, key, value);
}

void remove_server_metadata(TxnState& t, UserId user) {
  t.erase_under(t.dbs().metadata, codec::key_u32_u32(kServerMetadata, user));
}

}  // namespace detail
}  // namespace mailstead::storage
