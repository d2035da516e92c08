#include "storage/changes.hpp"

#include <algorithm>

#include "storage/detail/codec.hpp"
#include "storage/detail/lmdb.hpp"

namespace mailstead::storage {
namespace {

constexpr std::uint8_t kChangeFormat = 1;
constexpr std::uint64_t kFirstModseq = 2;  // an untouched mailbox reports HIGHESTMODSEQ 1
constexpr std::uint8_t kMarksFormat = 1;
constexpr std::int64_t kMarkEvery = std::int64_t{24} * 3600;

struct Mark {
  std::int64_t time = 0;
  std::uint64_t modseq = 0;
};

std::vector<Mark> load_marks(const detail::TxnState& t) {
  std::vector<Mark> marks;
  auto stored = t.get(t.dbs().meta, "change_marks");
  if (!stored) return marks;
  codec::Reader r(*stored, "change log marks");
  for (auto n = r.u64(); n > 0; --n) {
    Mark m;
    m.time = static_cast<std::int64_t>(r.u64());
    m.modseq = r.u64();
    marks.push_back(m);
  }
  return marks;
}

void save_marks(detail::TxnState& t, const std::vector<Mark>& marks) {
  codec::Writer w(kMarksFormat);
  w.u64(marks.size());
  for (const auto& m : marks) w.u64(static_cast<std::uint64_t>(m.time)).u64(m.modseq);
  t.put(t.dbs().meta, "change_marks", w.take());
}

Change decode_change(std::string_view key, std::string_view value) {
  codec::Reader r(value, "change");
  Change c;
  c.modseq = codec::get_u64be(key);
  c.user = r.u32();
  c.mailbox = r.u32();
  c.uid = r.u32();
  c.kind = static_cast<ChangeKind>(r.u32());
  return c;
}

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
    out.push_back(decode_change(key, value));
    return true;
  });
  return out;
}

std::uint64_t change_log_floor(const ReadTxn& txn) {
  auto stored = txn.state().get(txn.state().dbs().meta, "change_log_floor");
  return stored ? codec::get_u64be(*stored) : 0;
}

std::size_t trim_change_log(WriteTxn& txn, std::int64_t now, std::int64_t retention, std::size_t max_entries) {
  auto& t = txn.state();
  auto marks = load_marks(t);
  if (marks.empty() || now - marks.back().time >= kMarkEvery) marks.push_back({now, last_modseq(txn)});
  // The newest note old enough: everything up to its modseq is older than `retention`.
  std::uint64_t cut = 0;
  std::size_t used = 0;
  for (std::size_t i = 0; i < marks.size(); ++i)
    if (now - marks[i].time >= retention) cut = marks[i].modseq, used = i;
  const auto floor = change_log_floor(txn);
  std::size_t removed = 0;
  if (cut > floor) {
    std::vector<std::string> doomed;
    t.scan_from(t.dbs().changes, "", [&](std::string_view key, std::string_view) {
      if (codec::get_u64be(key) > cut || doomed.size() >= max_entries) return false;
      doomed.emplace_back(key);
      return true;
    });
    for (const auto& key : doomed) t.erase(t.dbs().changes, key);
    removed = doomed.size();
    // All entries up to the last one removed are gone; up to `cut` if this pass finished.
    auto new_floor = removed < max_entries ? cut : codec::get_u64be(doomed.back());
    std::string value;
    codec::put_u64be(value, new_floor);
    t.put(t.dbs().meta, "change_log_floor", value);
    if (removed < max_entries) marks.erase(marks.begin(), marks.begin() + static_cast<std::ptrdiff_t>(used) + 1);
  }
  save_marks(t, marks);
  return removed;
}

std::vector<std::uint32_t> expunged_since(const ReadTxn& txn, MailboxId mailbox, std::uint64_t after) {
  std::vector<std::uint32_t> out;
  const auto& t = txn.state();
  std::string start;
  codec::put_u64be(start, after + 1);
  t.scan_from(t.dbs().changes, start, [&](std::string_view key, std::string_view value) {
    auto c = decode_change(key, value);
    if (c.mailbox == mailbox && c.kind == ChangeKind::expunged) out.push_back(c.uid);
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
