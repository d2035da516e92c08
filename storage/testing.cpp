#include "storage/testing.hpp"

#include <algorithm>
#include <string>

#include "storage/detail/codec.hpp"
#include "storage/detail/lmdb.hpp"
#include "storage/detail/structure_codec.hpp"
#include "storage/mailboxes.hpp"

namespace mailstead::storage::testing {

std::uint32_t schema_version(const ReadTxn& txn) {
  const auto& t = txn.state();
  auto version = t.get(t.dbs().meta, "schema_version");
  return version ? codec::get_u32be(*version) : 0;
}

void set_schema_version(WriteTxn& txn, std::uint32_t version) {
  std::string bytes;
  codec::put_u32be(bytes, version);
  txn.state().put(txn.state().dbs().meta, "schema_version", bytes);
}

bool has_table(const ReadTxn& txn, std::string_view name) {
  MDB_dbi dbi;
  return mdb_dbi_open(txn.state().txn, std::string(name).c_str(), 0, &dbi) == 0;
}

void downgrade_to_format_3(WriteTxn& txn) {
  auto& state = txn.state();
  auto zigzag = [](std::int64_t v) {
    return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
  };
  std::vector<std::pair<std::string, std::string>> records;
  state.scan(state.dbs().messages, "", [&](std::string_view key, std::string_view) {
    auto m = find_message(txn, codec::get_u32be(key, 0), codec::get_u32be(key, 4));
    if (!m) throw StorageError(Errc::corrupt, "a message record that does not decode");
    codec::Writer w(1);
    w.u64(m->flags).u64(m->keywords.size());
    for (const auto& k : m->keywords) w.str(k);
    w.u64(zigzag(m->internal_date))
        .u64(m->size)
        .u64(m->modseq)
        .str(std::string_view(reinterpret_cast<const char*>(m->blob.bytes.data()), m->blob.bytes.size()));
    records.emplace_back(std::string(key), w.take());
    return true;
  });
  for (const auto& [key, record] : records) state.put(state.dbs().messages, key, record);
  set_schema_version(txn, 3);
}

void downgrade_to_format_1(WriteTxn& txn) {
  downgrade_to_format_3(txn);
  auto& state = txn.state();
  MDB_dbi blob_meta;
  if (mdb_dbi_open(state.txn, "blob_meta", MDB_CREATE, &blob_meta) != 0)
    throw StorageError(Errc::io_error, "cannot create blob_meta");
  std::vector<std::pair<std::string, std::string>> records;
  state.scan(state.dbs().message_meta, "", [&](std::string_view key, std::string_view value) {
    auto message = find_message(txn, codec::get_u32be(key, 0), codec::get_u32be(key, 4));
    if (!message) throw StorageError(Errc::corrupt, "a structure record without its message");
    records.emplace_back(std::string(reinterpret_cast<const char*>(message->blob.bytes.data()), 32), value);
    return true;
  });
  for (const auto& [blob, structure] : records) state.put(blob_meta, blob, structure);
  if (mdb_drop(state.txn, state.dbs().message_meta, 0) != 0)
    throw StorageError(Errc::io_error, "cannot empty message_meta");
  set_schema_version(txn, 1);
}

void downgrade_to_format_2(WriteTxn& txn) {
  downgrade_to_format_3(txn);
  auto& state = txn.state();
  std::vector<std::pair<std::string, std::string>> records;
  state.scan(state.dbs().mailboxes, "", [&](std::string_view key, std::string_view) {
    auto m = mailbox_by_id(txn, codec::get_u32be(key));
    if (!m) throw StorageError(Errc::corrupt, "a mailbox record that does not decode");
    records.emplace_back(std::string(key), codec::Writer(1)
                                               .u64(m->user)
                                               .str(m->name)
                                               .u64(m->uid_validity)
                                               .u64(m->uid_next)
                                               .u64(m->highest_modseq)
                                               .u64(static_cast<std::uint64_t>(m->special_use))
                                               .boolean(is_subscribed(txn, m->user, m->name))
                                               .boolean(m->noselect)
                                               .u64(m->messages)
                                               .u64(m->bytes)
                                               .u64(m->recent_floor)
                                               .take());
    return true;
  });
  for (const auto& [key, record] : records) state.put(state.dbs().mailboxes, key, record);
  if (mdb_drop(state.txn, state.dbs().subscriptions, 0) != 0)
    throw StorageError(Errc::io_error, "cannot empty subscriptions");
  set_schema_version(txn, 2);
}

void damage_structure(WriteTxn& txn, MailboxId mailbox, Uid uid) {
  txn.state().put(txn.state().dbs().message_meta, codec::key_u32_u32(mailbox, uid), std::string_view("\x01\xff", 2));
}

void strip_preview(WriteTxn& txn, MailboxId mailbox, Uid uid) {
  auto& state = txn.state();
  auto key = codec::key_u32_u32(mailbox, uid);
  auto record = state.get(state.dbs().message_meta, key);
  if (!record) return;
  // Format 1 is format 2 without the preview string at its end: the tree encoded again with
  // an empty preview (one length byte) and that byte cut off.
  auto format_1 = codec::encode_structure(codec::decode_structure(*record), "");
  format_1.pop_back();
  format_1[0] = 1;
  state.put(state.dbs().message_meta, key, format_1);
}

void put_send_counts_format_1(WriteTxn& txn, UserId user, std::int64_t hour_start, std::uint64_t hour_count,
                              std::int64_t day_start, std::uint64_t day_count) {
  txn.state().put(txn.state().dbs().send_counts, codec::key_u32(user),
                  codec::Writer(1)
                      .u64(static_cast<std::uint64_t>(hour_start))
                      .u64(hour_count)
                      .u64(static_cast<std::uint64_t>(day_start))
                      .u64(day_count)
                      .take());
}

BlobTables blob_tables(const ReadTxn& txn) {
  const auto& t = txn.state();
  BlobTables tables;
  t.scan(t.dbs().blob_refs, "", [&](std::string_view key, std::string_view value) {
    BlobId id;
    std::copy(key.begin(), key.end(), id.bytes.begin());
    codec::Reader r(value, "blob reference");
    tables.references.emplace_back(id, r.u64());
    return true;
  });
  t.scan(t.dbs().blob_data, "", [&](std::string_view, std::string_view) {
    ++tables.data;
    return true;
  });
  t.scan(t.dbs().message_meta, "", [&](std::string_view, std::string_view) {
    ++tables.structures;
    return true;
  });
  return tables;
}

}  // namespace mailstead::storage::testing
