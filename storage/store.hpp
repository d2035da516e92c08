#pragma once
// The mail store: one LMDB environment in the data directory, shared by every daemon and the
// `mailstead` command, reached only through typed transactions. No LMDB type appears in this
// header or any other public header of storage/, so protocol code cannot come to rely on LMDB
// (a PostgreSQL-protocol backend is the planned second implementation).
//
// Contract
// - ReadTxn: a consistent snapshot; cheap; any thread (the environment uses MDB_NOTLS).
//   Do not hold one while starting a write in the same thread: growing the map waits for all
//   of this process's transactions to end.
// - WriteTxn: one at a time per environment across all processes (LMDB's writer lock); aborted
//   by its destructor unless commit() succeeded. commit() returns once the data is durable
//   (fsync).
// - update(body): the way to write. Runs body in a write transaction and commits if body's
//   Result is ok; when the map is full it grows the map (doubling, up to the configured
//   maximum) and runs body again, so body must only act through its transaction.
// - Failures of the environment are thrown as StorageError: Errc::full (map at its maximum or
//   disk full: temporary), version_mismatch, corrupt, io_error.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "common/config/config.hpp"
#include "storage/result.hpp"

namespace mailstead::storage {

namespace detail {
struct TxnState;
struct StoreImpl;
}  // namespace detail

struct AddressPolicy {
  std::string plus_separator = "+";  // "alice+tag@" delivers to alice; empty: off
  bool case_sensitive_local_parts = false;
};

struct StoreOptions {
  std::filesystem::path dir;
  std::uint64_t map_size = std::uint64_t{1} << 30;  // initial size of the map
  std::uint64_t max_map_size = 0;                   // 0: limited by the disk only
  char hierarchy_separator = '/';                   // fixed when the store is created
  AddressPolicy addresses;
};

StoreOptions store_options(const config::Config& config);

// 2: MIME structure records per message instead of per blob (format 1 stores are converted
// when first opened).
inline constexpr std::uint32_t kSchemaVersion = 2;

class ReadTxn {
 public:
  ReadTxn(ReadTxn&&) noexcept;
  ReadTxn& operator=(ReadTxn&&) noexcept;
  ~ReadTxn();

  detail::TxnState& state() const { return *state_; }

 protected:
  friend class Store;
  explicit ReadTxn(std::unique_ptr<detail::TxnState> state);
  std::unique_ptr<detail::TxnState> state_;
};

class WriteTxn : public ReadTxn {
 public:
  WriteTxn(WriteTxn&&) noexcept = default;
  // Makes the changes durable; afterwards the transaction is finished. On a nested
  // transaction, merges its changes into the parent instead.
  void commit();
  // A transaction inside this one: its changes join the parent's on commit(), or vanish if it
  // is destroyed first. The parent must not be used while the child lives.
  WriteTxn nested();

 private:
  friend class Store;
  using ReadTxn::ReadTxn;
};

class Store {
 public:
  // Creates the directory and the environment if needed. Throws StorageError.
  static std::unique_ptr<Store> open(const StoreOptions& options);
  ~Store();

  ReadTxn read() const;
  WriteTxn write();

  template <class Body>
  auto update(Body&& body) -> decltype(body(std::declval<WriteTxn&>())) {
    for (;;) {
      try {
        WriteTxn txn = write();
        auto result = body(txn);
        if (result) txn.commit();
        return result;
      } catch (const StorageError& e) {
        if (!grow_after(e)) throw;
      }
    }
  }

  const StoreOptions& options() const;
  std::uint64_t map_size() const;

  // Writes a consistent, compacted copy of the whole store (one data.mdb file) to `fd`, which
  // may be a pipe: a snapshot as of the call, taken while daemons go on reading and writing.
  // Throws StorageError when the copy cannot be written.
  void copy_to(int fd) const;

  // Drops this process's mapping of the store's pages; they stay in the page cache and are
  // mapped again on the next access. For long bulk writes (import): random B-tree inserts
  // fault pages in, the kernel maps their neighbours too (fault-around), and without this the
  // process's RSS would grow with the size of the store though every such page is clean.
  void release_mapped_pages();

 private:
  explicit Store(std::unique_ptr<detail::StoreImpl> impl);
  bool grow_after(const StorageError& e);  // true if the map grew and the write may be retried
  std::unique_ptr<detail::StoreImpl> impl_;
};

}  // namespace mailstead::storage
