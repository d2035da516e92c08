#include "storage/send_limits.hpp"

#include <algorithm>

#include "storage/detail/codec.hpp"
#include "storage/detail/lmdb.hpp"

namespace mailstead::storage {
namespace {

constexpr std::uint8_t kFormat = 1;
constexpr std::int64_t kHour = 3600;
constexpr std::int64_t kDay = 86400;

struct Window {
  std::int64_t start = 0;
  std::uint64_t count = 0;  // messages counted since `start`, including those scheduled later
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

// When the (count)-th message of the window may go: its own period, counted from the start.
std::int64_t slot(const Window& w, std::int64_t period, std::uint32_t limit) {
  return w.start + static_cast<std::int64_t>((w.count - 1) / limit) * period;
}

}  // namespace

SendDecision count_sent_message(WriteTxn& txn, UserId user, std::int64_t now, const SendLimits& limits, bool hold) {
  SendDecision decision;
  if (limits.per_hour == 0 && limits.per_day == 0) return decision;
  auto& t = txn.state();
  Window hour, day;
  if (auto bytes = t.get(t.dbs().send_counts, codec::key_u32(user))) {
    codec::Reader r(*bytes, "send counts");
    hour.start = static_cast<std::int64_t>(r.u64());
    hour.count = r.u64();
    day.start = static_cast<std::int64_t>(r.u64());
    day.count = r.u64();
  }
  if (limits.per_hour) roll(hour, now, kHour, limits.per_hour);
  if (limits.per_day) roll(day, now, kDay, limits.per_day);
  auto next_hour = hour, next_day = day;
  next_hour.count += 1;
  next_day.count += 1;
  std::int64_t when = now;
  if (limits.per_hour) when = std::max(when, slot(next_hour, kHour, limits.per_hour));
  if (limits.per_day) when = std::max(when, slot(next_day, kDay, limits.per_day));
  if (when > now) {
    decision.over_limit = true;
    if (!hold) {  // refused: not counted; say when the current window has room again
      decision.reopens_at = when;
      return decision;
    }
    decision.not_before = when;
  }
  t.put(t.dbs().send_counts, codec::key_u32(user),
        codec::Writer(kFormat)
            .u64(static_cast<std::uint64_t>(next_hour.start))
            .u64(next_hour.count)
            .u64(static_cast<std::uint64_t>(next_day.start))
            .u64(next_day.count)
            .take());
  return decision;
}

}  // namespace mailstead::storage
