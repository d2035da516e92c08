#include "storage/text_index.hpp"

#include <algorithm>

#include "storage/detail/codec.hpp"
#include "storage/detail/lmdb.hpp"
#include "storage/detail/text_index.hpp"

namespace mailstead::storage {
namespace {

// Key: u32 mailbox id, then u32 0 for the index's state (a format byte, how far it reaches,
// the version of its segments), or the first UID of a segment.
constexpr Uid kStateKey = 0;

}  // namespace

TextIndexState text_index_state(const ReadTxn& txn, MailboxId mailbox) {
  const auto& t = txn.state();
  auto record = t.get(t.dbs().text_index, codec::key_u32_u32(mailbox, kStateKey));
  if (!record) return {};
  codec::Reader r(*record, "text index");
  TextIndexState state;
  state.through = r.u32();
  state.version = r.u32();
  return state;
}

std::vector<TextIndexSegment> text_index_segments(const ReadTxn& txn, MailboxId mailbox) {
  const auto& t = txn.state();
  std::vector<TextIndexSegment> out;
  t.scan(t.dbs().text_index, codec::key_u32(mailbox), [&out](std::string_view key, std::string_view value) {
    auto first = codec::get_u32be(key, 4);
    if (first != kStateKey) out.push_back({first, value});
    return true;
  });
  return out;
}

bool extend_text_index(WriteTxn& txn, MailboxId mailbox, const TextIndexState& expected, const TextIndexState& next,
                       const std::vector<std::pair<Uid, std::string>>& segments) {
  if (!mailbox_by_id(txn, mailbox)) return false;
  auto now = text_index_state(txn, mailbox);
  if (now.through != expected.through || now.version != expected.version) return false;
  auto& t = txn.state();
  if (next.version != now.version) detail::remove_text_index(t, mailbox);
  for (const auto& [first, bytes] : segments) t.put(t.dbs().text_index, codec::key_u32_u32(mailbox, first), bytes);
  t.put(t.dbs().text_index, codec::key_u32_u32(mailbox, kStateKey),
        codec::Writer(1).u64(next.through).u64(next.version).take());
  return true;
}

std::vector<TextIndexLag> text_index_lag(const ReadTxn& txn, std::uint32_t version) {
  std::vector<TextIndexLag> out;
  for_each_mailbox(txn, [&](const Mailbox& m) {
    if (m.noselect || m.messages == 0) return true;
    auto state = text_index_state(txn, m.id);
    Uid through = state.version == version ? state.through : 0;
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
