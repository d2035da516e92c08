#pragma once
// Failed logins per client address, in the store so that every daemon sees the same count:
// five wrong guesses over IMAP and five over SMTP lock an address out as surely as ten over
// one protocol. The client key is the connection limiter's (an IPv4 address or an IPv6 /64).

#include <chrono>
#include <cstdint>
#include <string_view>

#include "storage/store.hpp"

namespace mailstead::storage {

struct AuthFailures {
  std::uint32_t count = 0;        // failures in the current window
  std::int64_t window_start = 0;  // seconds since the epoch
  std::int64_t locked_until = 0;  // 0: not locked
};

struct LockoutPolicy {
  std::uint32_t failures = 10;  // 0: never lock
  std::int64_t window = 900;    // seconds
  std::int64_t duration = 900;  // seconds
};

AuthFailures auth_failures(const ReadTxn& txn, std::string_view client, std::int64_t now);
// Counts one more failure (starting a new window when the old one has passed) and locks the
// client when the count reaches the policy's limit. Returns the new state.
AuthFailures record_auth_failure(WriteTxn& txn, std::string_view client, std::int64_t now, const LockoutPolicy& policy);

// The delay before answering the n-th failure (n >= 1): base doubled n-1 times, at most max.
std::chrono::seconds failure_delay(std::uint32_t failures, std::chrono::seconds base, std::chrono::seconds max);

}  // namespace mailstead::storage
