#include "storage/text_index.hpp"

#include <algorithm>

#include "storage/detail/codec.hpp"
#include "storage/detail/lmdb.hpp"
#include "storage/detail/text_index.hpp"

namespace mailstead::storage {
namespace {

// Key: u32 mailbox id, then u32 0 for the record of how far the index reaches (a format byte
// and the UID), or the first UID of a segment.
constexpr Uid kThroughKey = 0;

}  // namespace

Uid text_index_through(const ReadTxn& txn, MailboxId mailbox) {
  const auto& t = txn.state();
  auto record = t.get(t.dbs().text_index, codec::key_u32_u32(mailbox, kThroughKey));
  if (!record) return 0;
  codec::Reader r(*record, "text index");
  return r.u32();
}

std::vector<TextIndexSegment> text_index_segments(const ReadTxn& txn, MailboxId mailbox) {
  const auto& t = txn.state();
  std::vector<TextIndexSegment> out;
  t.scan(t.dbs().text_index, codec::key_u32(mailbox), [&out](std::string_view key, std::string_view value) {
    auto first = codec::get_u32be(key, 4);
    if (first != kThroughKey) out.push_back({first, value});
    return true;
  });
  return out;
}

bool extend_text_index(WriteTxn& txn, MailboxId mailbox, Uid expected, Uid through,
                       const std::vector<std::pair<Uid, std::string>>& segments) {
  if (!mailbox_by_id(txn, mailbox) || text_index_through(txn, mailbox) != expected) return false;
  auto& t = txn.state();
  for (const auto& [first, bytes] : segments) t.put(t.dbs().text_index, codec::key_u32_u32(mailbox, first), bytes);
  t.put(t.dbs().text_index, codec::key_u32_u32(mailbox, kThroughKey), codec::Writer(1).u64(through).take());
  return true;
}

std::vector<TextIndexLag> text_index_lag(const ReadTxn& txn) {
  std::vector<TextIndexLag> out;
  for_each_mailbox(txn, [&](const Mailbox& m) {
    if (m.noselect || m.messages == 0) return true;
    auto through = text_index_through(txn, m.id);
    if (m.uid_next - 1 > through) out.push_back({m.id, through, m.uid_next - 1 - through});
    return true;
  });
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.behind < b.behind; });
  return out;
}

namespace detail {

void remove_text_index(TxnState& t, MailboxId mailbox) {
  t.erase_under(t.dbs().text_index, codec::key_u32(mailbox));
}

}  // namespace detail
}  // namespace mailstead::storage
