#pragma once
// The mail store, shared by every daemon and the `mailstead` command, reached only through
// typed transactions and the verbs of the other public headers of storage/. That is the
// storage interface: it names no LMDB type and promises nothing only LMDB could keep, so
// that a second backend (PostgreSQL, planned) can implement it and protocol code cannot tell
// which one it has. Today's backend is one LMDB environment in the data directory.
//
// Contract (every backend)
// - ReadTxn: a read view, consistent as of its start: it sees every change committed before
//   it and none after. Cheap; usable from any thread. Views it hands out (read_blob's bytes,
//   header fields) are valid until it ends. Hold one for one command's work, never while
//   waiting for a client or for a write of the same thread: a long reader holds old data alive
//   (LMDB's pages, a database's row versions) and, in LMDB, a map that must grow waits for it.
// - WriteTxn: at most one at a time per store (across processes); aborted by its destructor
//   unless commit() succeeded; commit() returns once the data is durable. nested(): a part
//   that commits into its parent or vanishes, for all-or-nothing steps inside a batch.
// - update(body): the way to write. Runs body in a write transaction and commits if body's
//   Result is ok; the backend may run body again (LMDB after growing a full map; a database
//   after a serialisation failure), so body must act only through its transaction.
// - Expected outcomes are Result<T> with a protocol-neutral Errc; failures of the store are
//   thrown as StorageError: Errc::no_space (out of space: temporary), version_mismatch, corrupt,
//   io_error.

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

// 2: MIME structure records per message instead of per blob. 3: subscriptions apart from
// mailbox records. 4: message records may carry a save date (their format 2), which a
// mailstead of format 3 could not read. Older stores are converted when first opened.
inline constexpr std::uint32_t kSchemaVersion = 4;

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
  // The LMDB backend's map size now (its tests watch it grow).
  std::uint64_t map_size() const;

  // Writes a consistent copy of the whole store in the backend's own form (LMDB: one compacted
  // data.mdb file) to `fd`, which may be a pipe: a snapshot as of the call, taken while
  // daemons go on reading and writing.
  // Throws StorageError when the copy cannot be written.
  void copy_to(int fd) const;

  // Lets go of memory this process holds only to read the store faster; the data is read again
  // when needed. Safe inside a write transaction. For long bulk writes (import). LMDB: drops
  // the mapping of the store's pages (random B-tree inserts fault pages in, the kernel maps
  // their neighbours too, and the RSS would otherwise grow with the store though every such
  // page is clean page cache).
  void release_memory();

 private:
  explicit Store(std::unique_ptr<detail::StoreImpl> impl);
  bool grow_after(const StorageError& e);  // true if the map grew and the write may be retried
  std::unique_ptr<detail::StoreImpl> impl_;
};

}  // namespace mailstead::storage
