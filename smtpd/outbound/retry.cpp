#include "smtpd/outbound/retry.hpp"

#include <algorithm>

namespace mailstead::outbound {

std::int64_t retry_delay(std::uint32_t attempts, const RetryPolicy& policy) {
  std::int64_t delay = policy.first.count();
  for (std::uint32_t i = 1; i < attempts && delay < policy.max.count(); ++i) delay *= 2;
  return std::min<std::int64_t>(delay, policy.max.count());
}

std::vector<std::size_t> apply_results(storage::QueueEntry& entry, const std::vector<AttemptResult>& results,
                                       std::int64_t now, const RetryPolicy& policy) {
  std::vector<std::size_t> failed;
  for (const auto& r : results) {
    if (r.recipient >= entry.recipients.size()) continue;
    auto& rcpt = entry.recipients[r.recipient];
    if (rcpt.state != storage::RecipientState::pending) continue;  // settled meanwhile (admin)
    rcpt.attempts += 1;
    rcpt.last_error = r.kind == AttemptKind::delivered ? "" : r.text;
    switch (r.kind) {
      case AttemptKind::delivered:
        rcpt.state = storage::RecipientState::delivered;
        break;
      case AttemptKind::permanent:
        rcpt.state = storage::RecipientState::failed;
        failed.push_back(r.recipient);
        break;
      case AttemptKind::temporary: {
        auto next = now + retry_delay(rcpt.attempts, policy);
        if (now - entry.created >= policy.max_age.count()) {
          rcpt.state = storage::RecipientState::failed;
          rcpt.last_error = "gave up after " + std::to_string(rcpt.attempts) + " attempts: " + r.text;
          failed.push_back(r.recipient);
        } else {
          // The last try is at max_age, not beyond it.
          rcpt.next_attempt = std::min<std::int64_t>(next, entry.created + policy.max_age.count());
        }
        break;
      }
    }
  }
  return failed;
}

std::vector<std::size_t> take_delay_notices(storage::QueueEntry& entry, std::int64_t now, std::chrono::seconds delay) {
  std::vector<std::size_t> out;
  if (delay.count() == 0 || now - entry.created < delay.count()) return out;
  for (std::size_t i = 0; i < entry.recipients.size(); ++i) {
    auto& r = entry.recipients[i];
    if (r.state != storage::RecipientState::pending || r.delay_notified || r.attempts == 0) continue;
    r.delay_notified = true;
    out.push_back(i);
  }
  return out;
}

}  // namespace mailstead::outbound
