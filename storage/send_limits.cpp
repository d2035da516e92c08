#include "storage/send_limits.hpp"

#include <algorithm>

#include "storage/detail/codec.hpp"
#include "storage/detail/lmdb.hpp"

namespace mailstead::storage {
namespace {

// Format 1 held the message windows; format 2 adds the recipient windows.
constexpr std::uint8_t kFormat = 2;
constexpr std::int64_t kHour = 3600;
constexpr std::int64_t kDay = 86400;

struct Window {
  std::int64_t start = 0;
  std::uint64_t count = 0;  // units counted since `start`, including those scheduled later
};

// Rolls the window forward to the period containing `now`, keeping what is still scheduled.
void roll(Window& w, std::int64_t now, std::int64_t period, std::uint32_t limit) {
  if (w.count == 0) {
    w.start = now;
    return;
  }
  if (now < w.start + period) return;
  auto passed = (now - w.start) / period;
  auto room = static_cast<std::uint64_t>(passed) * limit;
  w.count = w.count > room ? w.count - room : 0;
  w.start = w.count == 0 ? now : w.start + passed * period;
}

// Adds `units` to the window and says when they may go: the period of the last of them,
// counted from the start, except that whatever comes first into an empty window goes now
// (one message with more recipients than an hour allows is not refused for ever).
std::int64_t add(Window& w, std::int64_t now, std::int64_t period, std::uint32_t limit, std::uint64_t units) {
  if (limit == 0) return now;
  roll(w, now, period, limit);
  bool empty = w.count == 0;
  w.count += units;
  if (empty) return w.start;
  return w.start + static_cast<std::int64_t>((w.count - 1) / limit) * period;
}

struct Counts {
  Window message_hour, message_day, recipient_hour, recipient_day;
};

Counts read_counts(const detail::TxnState& t, UserId user) {
  Counts c;
  auto bytes = t.get(t.dbs().send_counts, codec::key_u32(user));
  if (!bytes) return c;
  codec::Reader r(*bytes, "send counts");
  Window* windows[] = {&c.message_hour, &c.message_day, &c.recipient_hour, &c.recipient_day};
  const std::size_t stored = r.format() >= 2 ? 4 : 2;
  for (std::size_t i = 0; i < stored; ++i) {
    windows[i]->start = static_cast<std::int64_t>(r.u64());
    windows[i]->count = r.u64();
  }
  return c;
}

void write_counts(detail::TxnState& t, UserId user, const Counts& c) {
  codec::Writer w(kFormat);
  for (const auto* window : {&c.message_hour, &c.message_day, &c.recipient_hour, &c.recipient_day})
    w.u64(static_cast<std::uint64_t>(window->start)).u64(window->count);
  t.put(t.dbs().send_counts, codec::key_u32(user), w.take());
}

}  // namespace

SendDecision count_sent_message(WriteTxn& txn, UserId user, std::int64_t now, std::uint32_t recipients,
                                const SendLimits& limits, bool hold) {
  SendDecision decision;
  if (!limits.per_hour && !limits.per_day && !limits.recipients_per_hour && !limits.recipients_per_day) return decision;
  auto& t = txn.state();
  auto counts = read_counts(t, user);
  std::int64_t when = now;
  for (auto at :
       {add(counts.message_hour, now, kHour, limits.per_hour, 1), add(counts.message_day, now, kDay, limits.per_day, 1),
        add(counts.recipient_hour, now, kHour, limits.recipients_per_hour, recipients),
        add(counts.recipient_day, now, kDay, limits.recipients_per_day, recipients)})
    when = std::max(when, at);
  if (when > now) {
    decision.over_limit = true;
    // Held mail is bounded too: what would wait longer than max_hold is refused instead.
    if (!hold || (limits.max_hold > 0 && when - now > limits.max_hold)) {
      decision.refused = true;  // not counted; say when the current windows have room again
      decision.reopens_at = when;
      return decision;
    }
    decision.not_before = when;
  }
  write_counts(t, user, counts);
  return decision;
}

}  // namespace mailstead::storage
