#include "storage/greylist.hpp"

#include "storage/detail/codec.hpp"
#include "storage/detail/lmdb.hpp"

namespace mailstead::storage {
namespace {

constexpr std::uint8_t kFormat = 1;

struct Record {
  std::int64_t first_seen = 0;
  std::int64_t passed = 0;  // 0: never got through
};

std::string key_of(const Triplet& t) {
  std::string key;
  key.reserve(t.network.size() + t.sender.size() + t.recipient.size() + 2);
  key += t.network;
  key += '\0';
  key += t.sender;
  key += '\0';
  key += t.recipient;
  return key;
}

Record decode(std::string_view bytes) {
  codec::Reader r(bytes, "greylist triplet");
  Record out;
  out.first_seen = static_cast<std::int64_t>(r.u64());
  out.passed = static_cast<std::int64_t>(r.u64());
  return out;
}

std::string encode(const Record& record) {
  return codec::Writer(kFormat)
      .u64(static_cast<std::uint64_t>(record.first_seen))
      .u64(static_cast<std::uint64_t>(record.passed))
      .take();
}

std::int64_t allowed_until(const detail::TxnState& t, std::string_view network) {
  auto bytes = t.get(t.dbs().greylist_nets, network);
  if (!bytes) return 0;
  codec::Reader r(*bytes, "greylist network");
  return static_cast<std::int64_t>(r.u64());
}

bool expired(const Record& r, std::int64_t now, const GreylistPolicy& policy) {
  if (r.passed != 0) return now - r.passed >= policy.allow_for;
  return now - r.first_seen > policy.max_retry;
}

}  // namespace

std::uint64_t greylist_entries(const ReadTxn& txn) {
  MDB_stat stat{};
  if (int rc = mdb_stat(txn.state().txn, txn.state().dbs().greylist, &stat); rc != 0)
    detail::throw_lmdb(rc, "greylist stat");
  return stat.ms_entries;
}

GreylistCheck check_greylist(const ReadTxn& txn, const Triplet& triplet, std::int64_t now,
                             const GreylistPolicy& policy) {
  const auto& t = txn.state();
  if (allowed_until(t, triplet.network) > now) return {GreylistVerdict::pass, 0};
  auto bytes = t.get(t.dbs().greylist, key_of(triplet));
  if (!bytes || expired(decode(*bytes), now, policy)) {
    if (!bytes && greylist_entries(txn) >= policy.max_entries) return {GreylistVerdict::full, 0};
    return {GreylistVerdict::unseen, policy.delay};
  }
  auto record = decode(*bytes);
  if (record.passed != 0) return {GreylistVerdict::pass, 0};
  auto waited = now - record.first_seen;
  if (waited >= policy.delay) return {GreylistVerdict::retried, 0};
  return {GreylistVerdict::defer, policy.delay - waited};
}

void record_greylist(WriteTxn& txn, const Triplet& triplet, std::int64_t now) {
  txn.state().put(txn.state().dbs().greylist, key_of(triplet), encode({now, 0}));
}

void greylist_passed(WriteTxn& txn, const std::vector<Triplet>& triplets, std::int64_t now,
                     const GreylistPolicy& policy) {
  auto& t = txn.state();
  for (const auto& triplet : triplets) {
    auto key = key_of(triplet);
    // A triplet let through because its network is allowed was never recorded and needs no
    // record: the network's allowance covers it, and the table stays within max_entries.
    if (auto bytes = t.get(t.dbs().greylist, key)) {
      auto record = decode(*bytes);
      record.passed = now;
      t.put(t.dbs().greylist, key, encode(record));
    }
    t.put(t.dbs().greylist_nets, triplet.network,
          codec::Writer(kFormat).u64(static_cast<std::uint64_t>(now + policy.allow_for)).take());
  }
}

std::size_t expire_greylist(WriteTxn& txn, std::int64_t now, const GreylistPolicy& policy, std::size_t max) {
  auto& t = txn.state();
  std::vector<std::string> doomed;
  t.scan_from(t.dbs().greylist, "", [&](std::string_view key, std::string_view value) {
    if (expired(decode(value), now, policy)) doomed.emplace_back(key);
    return doomed.size() < max;
  });
  for (const auto& key : doomed) t.erase(t.dbs().greylist, key);
  std::vector<std::string> networks;
  if (doomed.size() < max) {
    t.scan_from(t.dbs().greylist_nets, "", [&](std::string_view key, std::string_view value) {
      codec::Reader r(value, "greylist network");
      if (static_cast<std::int64_t>(r.u64()) <= now) networks.emplace_back(key);
      return doomed.size() + networks.size() < max;
    });
    for (const auto& key : networks) t.erase(t.dbs().greylist_nets, key);
  }
  return doomed.size() + networks.size();
}

}  // namespace mailstead::storage
