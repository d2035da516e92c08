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
      case AttemptKind::delivered: rcpt.state = storage::RecipientState::delivered; break;
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

}  // namespace mailstead::outbound
