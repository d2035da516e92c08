#include "storage/queue.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "storage/detail/blobs.hpp"
#include "storage/detail/codec.hpp"
#include "storage/detail/lmdb.hpp"

namespace mailstead::storage {
namespace {

constexpr std::uint8_t kQueueFormat = 1;

std::string id_key(QueueId id) {
  std::string k;
  codec::put_u64be(k, id);
  return k;
}

// Due index key: next attempt (offset so that it sorts as unsigned), then the id.
std::string due_key(std::int64_t when, QueueId id) {
  std::string k;
  codec::put_u64be(k, static_cast<std::uint64_t>(when) ^ (std::uint64_t{1} << 63));
  codec::put_u64be(k, id);
  return k;
}

std::string encode(const QueueEntry& e) {
  codec::Writer w(kQueueFormat);
  w.str(e.sender).str(std::string_view(reinterpret_cast<const char*>(e.blob.bytes.data()), e.blob.bytes.size()));
  w.u64(e.size).u64(static_cast<std::uint64_t>(e.created)).u64(e.submitted_by).str(e.envid).boolean(e.return_full);
  w.u64(e.recipients.size());
  for (const auto& r : e.recipients)
    w.str(r.address)
        .u64(static_cast<std::uint8_t>(r.state))
        .u64(r.attempts)
        .u64(static_cast<std::uint64_t>(r.next_attempt))
        .str(r.last_error)
        .str(r.orcpt)
        .u64(r.notify);
  // Added after the first format: at the end, so that older records still read (as false).
  for (const auto& r : e.recipients) w.boolean(r.delay_notified);
  return w.take();
}

QueueEntry decode(QueueId id, std::string_view bytes) {
  codec::Reader r(bytes, "queue entry");
  QueueEntry e;
  e.id = id;
  e.sender = r.str();
  auto blob = r.str();
  if (blob.size() != e.blob.bytes.size()) throw StorageError(Errc::corrupt, "corrupt queue entry record");
  std::copy(blob.begin(), blob.end(), e.blob.bytes.begin());
  e.size = r.u64();
  e.created = static_cast<std::int64_t>(r.u64());
  e.submitted_by = r.u32();
  e.envid = r.str();
  e.return_full = r.boolean();
  for (auto n = r.u64(); n > 0; --n) {
    QueuedRecipient q;
    q.address = r.str();
    auto state = r.u64();
    q.state = state <= 2 ? static_cast<RecipientState>(state) : RecipientState::failed;
    q.attempts = r.u32();
    q.next_attempt = static_cast<std::int64_t>(r.u64());
    q.last_error = r.str();
    q.orcpt = r.str();
    q.notify = static_cast<std::uint8_t>(r.u64());
    e.recipients.push_back(std::move(q));
  }
  if (!r.at_end())
    for (auto& q : e.recipients) q.delay_notified = r.boolean();
  return e;
}

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void index_due(detail::TxnState& t, const QueueEntry& e) {
  if (auto when = e.next_attempt()) t.put(t.dbs().queue_due, due_key(*when, e.id), "");
}

void unindex_due(detail::TxnState& t, const QueueEntry& e) {
  if (auto when = e.next_attempt()) t.erase(t.dbs().queue_due, due_key(*when, e.id));
}

}  // namespace

std::optional<std::int64_t> QueueEntry::next_attempt() const {
  std::optional<std::int64_t> earliest;
  for (const auto& r : recipients)
    if (r.state == RecipientState::pending && (!earliest || r.next_attempt < *earliest)) earliest = r.next_attempt;
  return earliest;
}

Result<QueueEntry> enqueue(WriteTxn& txn, std::string_view bytes, const NewQueueEntry& request) {
  if (bytes.empty()) return fail(Errc::invalid_argument, "an empty message cannot be queued");
  if (request.recipients.empty()) return fail(Errc::invalid_argument, "a queue entry needs a recipient");
  auto& t = txn.state();
  QueueEntry e;
  e.id = t.next_counter("next_queue_id", 1);
  e.sender = request.sender;
  e.blob = detail::hash_blob(bytes);
  e.size = bytes.size();
  e.created = now_seconds();
  e.submitted_by = request.submitted_by;
  e.envid = request.envid;
  e.return_full = request.return_full;
  auto first = std::max(e.created, request.not_before);
  for (const auto& r : request.recipients) {
    QueuedRecipient q;
    q.address = r.address;
    q.orcpt = r.orcpt;
    q.notify = r.notify;
    q.next_attempt = first;
    e.recipients.push_back(std::move(q));
  }
  detail::reference_blob(t, e.blob, bytes);
  t.put(t.dbs().queue, id_key(e.id), encode(e));
  index_due(t, e);
  return e;
}

std::optional<QueueEntry> find_queue_entry(const ReadTxn& txn, QueueId id) {
  auto bytes = txn.state().get(txn.state().dbs().queue, id_key(id));
  if (!bytes) return std::nullopt;
  return decode(id, *bytes);
}

std::vector<QueueEntry> due_entries(const ReadTxn& txn, std::int64_t now, std::size_t limit) {
  std::vector<QueueEntry> out;
  const auto& t = txn.state();
  auto end = due_key(now, ~QueueId{0});
  t.scan(t.dbs().queue_due, "", [&](std::string_view key, std::string_view) {
    if (key > end || out.size() >= limit) return false;
    if (auto e = find_queue_entry(txn, codec::get_u64be(key, 8))) out.push_back(std::move(*e));
    return true;
  });
  return out;
}

std::vector<QueueEntry> list_queue(const ReadTxn& txn) {
  std::vector<QueueEntry> out;
  txn.state().scan(txn.state().dbs().queue, "", [&](std::string_view key, std::string_view value) {
    out.push_back(decode(codec::get_u64be(key), value));
    return true;
  });
  return out;
}

Result<void> update_queue_entry(WriteTxn& txn, const QueueEntry& entry) {
  auto& t = txn.state();
  auto old = find_queue_entry(txn, entry.id);
  if (!old) return fail(Errc::not_found, fmt::format("no queue entry {}", entry.id));
  unindex_due(t, *old);
  if (!entry.next_attempt()) {
    t.erase(t.dbs().queue, id_key(entry.id));
    detail::release_blob(t, old->blob);
    return {};
  }
  auto updated = entry;
  updated.blob = old->blob;  // the bytes of an entry never change
  t.put(t.dbs().queue, id_key(entry.id), encode(updated));
  index_due(t, updated);
  return {};
}

Result<void> remove_queue_entry(WriteTxn& txn, QueueId id) {
  auto& t = txn.state();
  auto old = find_queue_entry(txn, id);
  if (!old) return fail(Errc::not_found, fmt::format("no queue entry {}", id));
  unindex_due(t, *old);
  t.erase(t.dbs().queue, id_key(id));
  detail::release_blob(t, old->blob);
  return {};
}

}  // namespace mailstead::storage
