#include "storage/changes.hpp"

#include <algorithm>

#include "storage/codec.hpp"
#include "storage/detail/lmdb.hpp"

namespace mailstead::storage {
namespace {

constexpr std::uint8_t kChangeFormat = 1;
constexpr std::uint64_t kFirstModseq = 2;  // an untouched mailbox reports HIGHESTMODSEQ 1

}  // namespace

std::uint64_t last_modseq(const ReadTxn& txn) {
  auto next = txn.state().get(txn.state().dbs().meta, "modseq");
  return next ? codec::get_u64be(*next) - 1 : kFirstModseq - 1;
}

std::vector<Change> changes_since(const ReadTxn& txn, std::uint64_t after, std::size_t limit) {
  std::vector<Change> out;
  const auto& t = txn.state();
  std::string start;
  codec::put_u64be(start, after + 1);
  t.scan_from(t.dbs().changes, start, [&](std::string_view key, std::string_view value) {
    if (out.size() >= limit) return false;
    codec::Reader r(value, "change");
    Change c;
    c.modseq = codec::get_u64be(key);
    c.user = r.u32();
    c.mailbox = r.u32();
    c.uid = r.u32();
    c.kind = static_cast<ChangeKind>(r.u32());
    out.push_back(c);
    return true;
  });
  return out;
}

std::vector<std::uint32_t> expunged_since(const ReadTxn& txn, MailboxId mailbox, std::uint64_t after) {
  std::vector<std::uint32_t> out;
  const auto& t = txn.state();
  std::string start;
  codec::put_u64be(start, after + 1);
  t.scan_from(t.dbs().changes, start, [&](std::string_view, std::string_view value) {
    codec::Reader r(value, "change");
    r.u32();  // user
    if (r.u32() != mailbox) return true;
    auto uid = r.u32();
    if (static_cast<ChangeKind>(r.u32()) == ChangeKind::expunged) out.push_back(uid);
    return true;
  });
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

namespace detail {

std::uint64_t record_change(WriteTxn& txn, UserId user, MailboxId mailbox, std::uint32_t uid, ChangeKind kind) {
  auto& t = txn.state();
  auto modseq = t.next_counter("modseq", kFirstModseq);
  std::string key;
  codec::put_u64be(key, modseq);
  t.put(t.dbs().changes, key,
        codec::Writer(kChangeFormat).u64(user).u64(mailbox).u64(uid).u64(static_cast<std::uint8_t>(kind)).take());
  return modseq;
}

}  // namespace detail
}  // namespace mailstead::storage
