#pragma once
// What the queue makes of one delivery attempt: each recipient's result is recorded, a
// temporary failure waits the next step of the backoff schedule (doubling from retry_first
// up to retry_max), and a recipient still undelivered at max_age fails for good. Pure, so the
// schedule and the give-up rule are unit-tested without a clock or a network.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "storage/queue.hpp"

namespace mailstead::outbound {

struct RetryPolicy {
  std::chrono::seconds first{300};
  std::chrono::seconds max{3600};
  std::chrono::seconds max_age{5 * 86400};
};

// Seconds to wait after the n-th failed attempt (n >= 1).
std::int64_t retry_delay(std::uint32_t attempts, const RetryPolicy& policy);

enum class AttemptKind { delivered, temporary, permanent };

struct AttemptResult {
  std::size_t recipient = 0;  // index into the entry's recipients
  AttemptKind kind = AttemptKind::temporary;
  std::string text;        // the reply or the failure, for last_error and the bounce
  std::string status;      // RFC 3463 code for the bounce
  std::string remote_mta;  // the host that answered, or empty
};

// Applies the results to the entry; returns the indexes of recipients that failed for good
// now (to be reported to the sender).
std::vector<std::size_t> apply_results(storage::QueueEntry& entry, const std::vector<AttemptResult>& results,
                                       std::int64_t now, const RetryPolicy& policy);

// Pending recipients that have waited `delay` since the message was queued, have been tried
// at least once, and whose sender has not been told yet: marked as told, returned so that
// one "delayed" notice goes out. delay 0: never.
std::vector<std::size_t> take_delay_notices(storage::QueueEntry& entry, std::int64_t now, std::chrono::seconds delay);

}  // namespace mailstead::outbound
