#pragma once
// White-box access to the LMDB backend for its own tests only (format upgrades, a refused
// newer schema, the crash torture's invariants), so that lmdb.h and storage/detail stay inside
// storage/. Built as mailstead_storage_testing, which no daemon links.

#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "storage/messages.hpp"
#include "storage/store.hpp"

namespace mailstead::storage::testing {

std::uint32_t schema_version(const ReadTxn& txn);
void set_schema_version(WriteTxn& txn, std::uint32_t version);

// Whether the environment has a named table (a database that an upgrade should have dropped).
bool has_table(const ReadTxn& txn, std::string_view name);

// Rewrites every message record as store format 3 wrote it, without a save date (message
// record format 1); schema version 3.
void downgrade_to_format_3(WriteTxn& txn);

// Rewrites the store as format 1 wrote it: one structure record per blob, in `blob_meta`,
// instead of one per message; schema version 1.
void downgrade_to_format_1(WriteTxn& txn);

// Rewrites the store as format 2 wrote it: each mailbox record with its own subscription
// flag, no subscription table (a subscription without a mailbox is lost); schema version 2.
void downgrade_to_format_2(WriteTxn& txn);

// Overwrites a message's structure record with bytes that do not decode, as a damaged store
// would have it: reading it throws StorageError (corrupt).
void damage_structure(WriteTxn& txn, MailboxId mailbox, Uid uid);

// Rewrites a message's structure record as structure format 1 wrote it: without a preview.
void strip_preview(WriteTxn& txn, MailboxId mailbox, Uid uid);

// A user's send counts as format 1 wrote them: the message windows alone.
void put_send_counts_format_1(WriteTxn& txn, UserId user, std::int64_t hour_start, std::uint64_t hour_count,
                              std::int64_t day_start, std::uint64_t day_count);

// What the blob tables hold, for checks against what the messages and the queue reference.
struct BlobTables {
  std::vector<std::pair<BlobId, std::uint64_t>> references;  // blob_refs: id and count
  std::uint64_t data = 0;                                    // records in blob_data
  std::uint64_t structures = 0;                              // records in message_meta
};
BlobTables blob_tables(const ReadTxn& txn);

}  // namespace mailstead::storage::testing
