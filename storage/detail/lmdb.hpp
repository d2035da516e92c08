#pragma once
// Internal to storage/: the LMDB environment and transaction state, and the key/value helpers
// every storage component uses. Never included from a public header.

#include <lmdb.h>

#include <cstdint>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>

#include "storage/result.hpp"
#include "storage/store.hpp"

namespace mailstead::storage::detail {

struct Dbs {
  MDB_dbi meta;           // name -> value: schema version, counters
  MDB_dbi domains;        // lower(domain) -> Domain record
  MDB_dbi users;          // u32 user id -> User record
  MDB_dbi user_index;     // address key -> u32 user id
  MDB_dbi aliases;        // address key ("@domain" for a catch-all) -> Alias record
  MDB_dbi mailboxes;      // u32 mailbox id -> Mailbox record
  MDB_dbi mailbox_index;  // u32 user id, name -> u32 mailbox id
  MDB_dbi subscriptions;  // u32 user id, name -> empty (mailboxes.hpp)
  MDB_dbi messages;       // u32 mailbox id, u32 uid -> Message record
  MDB_dbi message_meta;   // u32 mailbox id, u32 uid -> MIME structure (structure_codec.hpp)
  MDB_dbi blob_refs;      // 32-byte SHA-256 -> BlobRef record (reference count, size)
  MDB_dbi blob_data;      // 32-byte SHA-256 -> the message bytes
  MDB_dbi changes;        // u64 modseq -> Change record
  MDB_dbi usage;          // u32 user id -> Usage record (bytes, messages)
  MDB_dbi imports;        // u32 mailbox id, source key -> u32 uid (import_ledger.hpp)
  MDB_dbi queue;          // u64 queue id -> QueueEntry record
  MDB_dbi queue_due;      // u64 next attempt (sign-flipped), u64 queue id -> empty
  MDB_dbi auth_failures;  // client key ("192.0.2.7", "2001:db8::/64") -> AuthFailures record
  MDB_dbi send_counts;    // u32 user id -> hour and day windows (send_limits.hpp)
  MDB_dbi dkim_keys;      // lower(domain) NUL selector -> DkimKey record (dkim_keys.hpp)
  MDB_dbi greylist;       // network NUL sender NUL recipient -> first seen, passed (greylist.hpp)
  MDB_dbi greylist_nets;  // network -> allowed until (greylist.hpp)
  MDB_dbi threads;        // u32 user id, 16-byte SHA-256 of a Message-ID -> u64 thread id (detail/threads.hpp)
  MDB_dbi metadata;       // u32 mailbox id, u32 user id (0: shared), lower(name) -> name, value (metadata.hpp)
  MDB_dbi text_index;     // u32 mailbox id, u32 0 -> how far; u32 mailbox id, u32 first UID -> segment (text_index.hpp)
};

// Thrown for MDB_MAP_FULL: Store::update grows the map and retries.
class MapFull : public StorageError {
 public:
  MapFull() : StorageError(Errc::no_space, "the mail store's map is full") {}
};

[[noreturn]] void throw_lmdb(int rc, std::string_view what);

struct StoreImpl {
  MDB_env* env = nullptr;
  Dbs dbs{};
  StoreOptions options;
  // Shared by every live transaction of this process; exclusive while the map is resized
  // (LMDB requires that no transaction of the process is active then).
  mutable std::shared_mutex resize_mutex;

  ~StoreImpl();
};

struct TxnState {
  StoreImpl* store = nullptr;
  MDB_txn* txn = nullptr;
  std::shared_lock<std::shared_mutex> lock;
  bool write = false;

  ~TxnState();

  const Dbs& dbs() const { return store->dbs; }
  const StoreOptions& options() const { return store->options; }

  // The value stays valid until the transaction ends (zero-copy from the map).
  std::optional<std::string_view> get(MDB_dbi dbi, std::string_view key) const;
  void put(MDB_dbi dbi, std::string_view key, std::string_view value);
  bool insert(MDB_dbi dbi, std::string_view key, std::string_view value);  // false if the key exists
  bool erase(MDB_dbi dbi, std::string_view key);
  void erase_under(MDB_dbi dbi, std::string_view prefix);  // every key that starts with it

  // Calls fn(key, value) for each entry whose key starts with `prefix`, in key order, while fn
  // returns true.
  template <class Fn>
  void scan(MDB_dbi dbi, std::string_view prefix, Fn&& fn) const {
    walk(dbi, prefix, prefix, fn);
  }
  // Calls fn for each entry from the first key >= `start` to the end, while fn returns true.
  template <class Fn>
  void scan_from(MDB_dbi dbi, std::string_view start, Fn&& fn) const {
    walk(dbi, start, {}, fn);
  }

  // Meta counters: returns the current value and stores value + 1.
  std::uint64_t next_counter(std::string_view name, std::uint64_t initial);

 private:
  MDB_cursor* open_cursor(MDB_dbi dbi) const;

  template <class Fn>
  void walk(MDB_dbi dbi, std::string_view start, std::string_view prefix, Fn& fn) const {
    MDB_cursor* cursor = open_cursor(dbi);
    MDB_val k{start.size(), const_cast<char*>(start.data())};
    MDB_val v{};
    int rc = mdb_cursor_get(cursor, &k, &v, start.empty() ? MDB_FIRST : MDB_SET_RANGE);
    try {
      while (rc == 0) {
        std::string_view key(static_cast<const char*>(k.mv_data), k.mv_size);
        if (!key.starts_with(prefix)) break;
        if (!fn(key, std::string_view(static_cast<const char*>(v.mv_data), v.mv_size))) break;
        rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT);
      }
    } catch (...) {
      mdb_cursor_close(cursor);
      throw;
    }
    mdb_cursor_close(cursor);
    if (rc != 0 && rc != MDB_NOTFOUND) throw_lmdb(rc, "scan");
  }
};

}  // namespace mailstead::storage::detail
