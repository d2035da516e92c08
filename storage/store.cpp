#include "storage/store.hpp"

#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <fstream>
#include <system_error>

#include "common/log/log.hpp"
#include "storage/detail/blobs.hpp"
#include "storage/detail/codec.hpp"
#include "storage/detail/lmdb.hpp"
#include "storage/detail/subscriptions.hpp"

namespace mailstead::storage {

std::string_view to_string(Errc code) {
  switch (code) {
    case Errc::not_found:
      return "not found";
    case Errc::already_exists:
      return "already exists";
    case Errc::invalid_argument:
      return "invalid";
    case Errc::not_empty:
      return "not empty";
    case Errc::over_quota:
      return "over quota";
    case Errc::no_space:
      return "out of space";
    case Errc::limit:
      return "limit reached";
    case Errc::version_mismatch:
      return "version mismatch";
    case Errc::corrupt:
      return "corrupt";
    case Errc::io_error:
      return "I/O error";
  }
  return "?";
}

namespace detail {

void throw_lmdb(int rc, std::string_view what) {
  if (rc == MDB_MAP_FULL) throw MapFull();
  if (rc == ENOSPC) throw StorageError(Errc::no_space, fmt::format("{}: the disk is full", what));
  if (rc == MDB_CORRUPTED || rc == MDB_PAGE_NOTFOUND || rc == MDB_INVALID)
    throw StorageError(Errc::corrupt, fmt::format("{}: {}", what, mdb_strerror(rc)));
  if (rc == MDB_VERSION_MISMATCH)
    throw StorageError(Errc::version_mismatch, fmt::format("{}: {}", what, mdb_strerror(rc)));
  throw StorageError(Errc::io_error, fmt::format("{}: {}", what, mdb_strerror(rc)));
}

StoreImpl::~StoreImpl() {
  if (env) mdb_env_close(env);
}

TxnState::~TxnState() {
  if (txn) mdb_txn_abort(txn);
}

std::optional<std::string_view> TxnState::get(MDB_dbi dbi, std::string_view key) const {
  MDB_val k{key.size(), const_cast<char*>(key.data())};
  MDB_val v{};
  int rc = mdb_get(txn, dbi, &k, &v);
  if (rc == MDB_NOTFOUND) return std::nullopt;
  if (rc != 0) throw_lmdb(rc, "get");
  return std::string_view(static_cast<const char*>(v.mv_data), v.mv_size);
}

void TxnState::put(MDB_dbi dbi, std::string_view key, std::string_view value) {
  MDB_val k{key.size(), const_cast<char*>(key.data())};
  MDB_val v{value.size(), const_cast<char*>(value.data())};
  if (int rc = mdb_put(txn, dbi, &k, &v, 0); rc != 0) throw_lmdb(rc, "put");
}

bool TxnState::insert(MDB_dbi dbi, std::string_view key, std::string_view value) {
  MDB_val k{key.size(), const_cast<char*>(key.data())};
  MDB_val v{value.size(), const_cast<char*>(value.data())};
  int rc = mdb_put(txn, dbi, &k, &v, MDB_NOOVERWRITE);
  if (rc == MDB_KEYEXIST) return false;
  if (rc != 0) throw_lmdb(rc, "insert");
  return true;
}

bool TxnState::erase(MDB_dbi dbi, std::string_view key) {
  MDB_val k{key.size(), const_cast<char*>(key.data())};
  int rc = mdb_del(txn, dbi, &k, nullptr);
  if (rc == MDB_NOTFOUND) return false;
  if (rc != 0) throw_lmdb(rc, "delete");
  return true;
}

void TxnState::erase_under(MDB_dbi dbi, std::string_view prefix) {
  std::vector<std::string> keys;  // collected first: no writes during the scan
  scan(dbi, prefix, [&keys](std::string_view key, std::string_view) {
    keys.emplace_back(key);
    return true;
  });
  for (const auto& key : keys) erase(dbi, key);
}

MDB_cursor* TxnState::open_cursor(MDB_dbi dbi) const {
  MDB_cursor* cursor = nullptr;
  if (int rc = mdb_cursor_open(txn, dbi, &cursor); rc != 0) throw_lmdb(rc, "cursor");
  return cursor;
}

std::uint64_t TxnState::next_counter(std::string_view name, std::uint64_t initial) {
  std::uint64_t value = initial;
  if (auto stored = get(dbs().meta, name)) value = codec::get_u64be(*stored);
  std::string next;
  codec::put_u64be(next, value + 1);
  put(dbs().meta, name, next);
  return value;
}

}  // namespace detail

namespace {

using detail::StoreImpl;
using detail::throw_lmdb;
using detail::TxnState;

void check(int rc, std::string_view what) {
  if (rc != 0) throw_lmdb(rc, what);
}

std::unique_ptr<TxnState> begin(StoreImpl& store, bool write) {
  auto state = std::make_unique<TxnState>();
  state->store = &store;
  state->write = write;
  for (;;) {
    state->lock = std::shared_lock(store.resize_mutex);
    int rc = mdb_txn_begin(store.env, nullptr, write ? 0 : MDB_RDONLY, &state->txn);
    if (rc == 0) return state;
    state->txn = nullptr;
    state->lock.unlock();
    if (rc != MDB_MAP_RESIZED) throw_lmdb(rc, "begin transaction");
    // Another process grew the map: adopt its size, with no transaction of ours active.
    std::unique_lock exclusive(store.resize_mutex);
    check(mdb_env_set_mapsize(store.env, 0), "adopt map size");
  }
}

// Doubles the map, up to the configured maximum; false when it is already there. No
// transaction of this process may be active.
bool grow_map(StoreImpl& store) {
  std::unique_lock exclusive(store.resize_mutex);
  MDB_envinfo info{};
  mdb_env_info(store.env, &info);
  std::uint64_t current = info.me_mapsize;
  std::uint64_t max = store.options.max_map_size;
  if (max != 0 && current >= max) return false;
  std::uint64_t next = current * 2;
  if (max != 0 && next > max) next = max;
  check(mdb_env_set_mapsize(store.env, next), "grow map");
  log::info("-", "store_grown", "map_size={} previous={}", next, current);
  return true;
}

void write_schema_version(TxnState& t) {
  std::string v;
  codec::put_u32be(v, kSchemaVersion);
  t.put(t.dbs().meta, "schema_version", v);
}

// Each step takes a store from its format to the next, in the transaction that opens it: an
// upgrade is whole or not at all.
void upgrade_from_format_1(TxnState& t) {
  MDB_dbi blob_meta;
  if (int rc = mdb_dbi_open(t.txn, "blob_meta", 0, &blob_meta); rc == 0) {
    detail::move_structures_to_messages(t, blob_meta);
    if (int drop = mdb_drop(t.txn, blob_meta, 1); drop != 0) throw_lmdb(drop, "remove blob_meta");
  } else if (rc != MDB_NOTFOUND) {
    throw_lmdb(rc, "open blob_meta");
  }
}

void upgrade_from_format_2(TxnState& t) {
  detail::move_subscriptions_out_of_mailboxes(t);
}

// Nothing to rewrite: message records of format 1 stay as they are and read as having no save
// date (storage::Message::saved); the new number keeps a mailstead of format 3 away from the
// records of format 2 that are written from now on.
void upgrade_from_format_3(TxnState&) {}

// First open of a new store writes its format; later opens check it.
void initialize_or_check(TxnState& t) {
  const auto& dbs = t.dbs();
  auto version = t.get(dbs.meta, "schema_version");
  if (!version) {
    write_schema_version(t);
    t.put(dbs.meta, "hierarchy_separator", std::string(1, t.options().hierarchy_separator));
    return;
  }
  auto found = codec::get_u32be(*version);
  if (found < kSchemaVersion && found >= 1) {
    const auto from = found;
    if (found == 1) {
      upgrade_from_format_1(t);
      found = 2;
    }
    if (found == 2) {
      upgrade_from_format_2(t);
      found = 3;
    }
    if (found == 3) {
      upgrade_from_format_3(t);
      found = 4;
    }
    write_schema_version(t);
    log::info("-", "store_upgraded", "format={} to={} dir={}", from, found, t.options().dir.string());
  }
  if (found != kSchemaVersion)
    throw StorageError(Errc::version_mismatch,
                       fmt::format("the mail store in {} has format {}, this mailstead reads format {}",
                                   t.options().dir.string(), found, kSchemaVersion));
  auto separator = t.get(dbs.meta, "hierarchy_separator");
  if (separator && *separator != std::string_view(&t.options().hierarchy_separator, 1))
    throw StorageError(
        Errc::invalid_argument,
        fmt::format("storage.hierarchy_separator is \"{}\" but the mail store in {} was created with \"{}\"",
                    t.options().hierarchy_separator, t.options().dir.string(), *separator));
}

}  // namespace

StoreOptions store_options(const config::Config& config) {
  StoreOptions o;
  o.dir = config.server.data_dir;
  o.map_size = config.storage.map_size;
  o.max_map_size = config.storage.max_map_size;
  o.hierarchy_separator = config.storage.hierarchy_separator;
  o.addresses.plus_separator = config.storage.plus_separator;
  o.addresses.case_sensitive_local_parts = config.storage.case_sensitive_local_parts;
  return o;
}

ReadTxn::ReadTxn(std::unique_ptr<detail::TxnState> state) : state_(std::move(state)) {}
ReadTxn::ReadTxn(ReadTxn&&) noexcept = default;
ReadTxn& ReadTxn::operator=(ReadTxn&&) noexcept = default;
ReadTxn::~ReadTxn() = default;

namespace {

// LMDB reports a short write as EIO, which is how a full disk (tmpfs, ext4 near its limit)
// often shows up: tell a full disk from a broken one by looking at the free space.
bool disk_nearly_full(const std::filesystem::path& dir) {
  struct statvfs fs {};
  if (statvfs(dir.c_str(), &fs) != 0) return false;
  return static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize < (std::uint64_t{8} << 20);
}

}  // namespace

void WriteTxn::commit() {
  MDB_txn* txn = std::exchange(state_->txn, nullptr);
  int rc = mdb_txn_commit(txn);                         // frees the transaction whatever the outcome
  if (state_->lock.owns_lock()) state_->lock.unlock();  // a nested transaction holds no lock
  if ((rc == EIO || rc == ENOSPC) && disk_nearly_full(state_->store->options.dir))
    throw StorageError(Errc::no_space,
                       fmt::format("commit: the disk holding {} is full", state_->store->options.dir.string()));
  check(rc, "commit");
}

WriteTxn WriteTxn::nested() {
  auto child = std::make_unique<TxnState>();
  child->store = state_->store;
  child->write = true;
  check(mdb_txn_begin(state_->store->env, state_->txn, 0, &child->txn), "begin nested transaction");
  return WriteTxn(std::move(child));
}

Store::Store(std::unique_ptr<detail::StoreImpl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

void Store::copy_to(int fd) const {
  check(mdb_env_copyfd2(impl_->env, fd, MDB_CP_COMPACT), "copy the mail store");
}

std::unique_ptr<Store> Store::open(const StoreOptions& options) {
  std::error_code ec;
  std::filesystem::create_directories(options.dir, ec);
  if (ec)
    throw StorageError(Errc::io_error,
                       fmt::format("cannot create the data directory {}: {}", options.dir.string(), ec.message()));
  auto impl = std::make_unique<StoreImpl>();
  impl->options = options;
  check(mdb_env_create(&impl->env), "create environment");
  check(mdb_env_set_maxdbs(impl->env, 64), "set maxdbs");
  check(mdb_env_set_maxreaders(impl->env, 4096), "set maxreaders");
  check(mdb_env_set_mapsize(impl->env, options.map_size), "set map size");
  int rc = mdb_env_open(impl->env, options.dir.c_str(), MDB_NOTLS, 0640);
  if (rc != 0) {
    if (rc == EACCES)
      throw StorageError(Errc::io_error, fmt::format("cannot open the mail store in {}: permission denied (run as the "
                                                     "server's user, or as root)",
                                                     options.dir.string()));
    throw_lmdb(rc, fmt::format("open the mail store in {}", options.dir.string()));
  }
  // Converting an older format may need more room than the map has: grow it and start over.
  for (;;) {
    auto state = begin(*impl, true);
    auto open_db = [&](const char* name) {
      MDB_dbi dbi;
      check(mdb_dbi_open(state->txn, name, MDB_CREATE, &dbi), name);
      return dbi;
    };
    auto& d = impl->dbs;
    d.meta = open_db("meta");
    d.domains = open_db("domains");
    d.users = open_db("users");
    d.user_index = open_db("user_index");
    d.aliases = open_db("aliases");
    d.mailboxes = open_db("mailboxes");
    d.mailbox_index = open_db("mailbox_index");
    d.subscriptions = open_db("subscriptions");
    d.messages = open_db("messages");
    d.message_meta = open_db("message_meta");
    d.blob_refs = open_db("blob_refs");
    d.blob_data = open_db("blob_data");
    d.changes = open_db("changes");
    d.usage = open_db("usage");
    d.imports = open_db("imports");
    d.queue = open_db("queue");
    d.queue_due = open_db("queue_due");
    d.auth_failures = open_db("auth_failures");
    d.send_counts = open_db("send_counts");
    d.dkim_keys = open_db("dkim_keys");
    d.greylist = open_db("greylist");
    d.greylist_nets = open_db("greylist_networks");
    d.metadata = open_db("metadata");
    d.threads = open_db("threads");
    d.text_index = open_db("text_index");
    try {
      initialize_or_check(*state);
      check(mdb_txn_commit(std::exchange(state->txn, nullptr)), "commit");
      break;
    } catch (const detail::MapFull&) {
      state.reset();
      if (!grow_map(*impl)) throw;
    }
  }
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

ReadTxn Store::read() const {
  return ReadTxn(begin(*impl_, false));
}
WriteTxn Store::write() {
  return WriteTxn(begin(*impl_, true));
}

const StoreOptions& Store::options() const {
  return impl_->options;
}

std::uint64_t Store::map_size() const {
  MDB_envinfo info{};
  mdb_env_info(impl_->env, &info);
  return info.me_mapsize;
}

void Store::release_memory() {
  // LMDB does not tell where it mapped the file (me_mapaddr is set only for MDB_FIXEDMAP), so
  // find the mapping of data.mdb in /proc/self/maps.
  auto data_file = std::filesystem::weakly_canonical(impl_->options.dir / "data.mdb").string();
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    if (!line.ends_with(" " + data_file)) continue;
    std::uintptr_t begin = 0, end = 0;
    if (std::sscanf(line.c_str(), "%" SCNxPTR "-%" SCNxPTR, &begin, &end) != 2) continue;
    // NOLINTNEXTLINE(performance-no-int-to-ptr): the address is the kernel's, from /proc/self/maps
    madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
  }
}

bool Store::grow_after(const StorageError& e) {
  if (!dynamic_cast<const detail::MapFull*>(&e)) return false;
  return grow_map(*impl_);
}

}  // namespace mailstead::storage
