#pragma once
// How many messages each user has sent to other domains, per hour and per day, so that a
// stolen password cannot turn the server into a spam cannon (the limits of hosted mail).
//
// Each window is fixed (it starts with the first message counted in it) and rolls forward by
// whole periods. A message over a limit is either refused, or accepted and scheduled into the
// first later window that has room: the n-th message of a window with room for L goes out
// (n-1)/L periods after the window starts. Rolling forward subtracts what the passed windows
// had room for, so a backlog keeps its place and the rate holds however much is queued.

#include <cstdint>

#include "storage/accounts.hpp"
#include "storage/store.hpp"

namespace mailstead::storage {

struct SendLimits {
  std::uint32_t per_hour = 0;  // 0: no limit
  std::uint32_t per_day = 0;
};

struct SendDecision {
  bool over_limit = false;      // the message does not fit the current windows
  std::int64_t not_before = 0;  // hold mode: when it may go out (0: now)
  std::int64_t reopens_at = 0;  // refuse mode: when the user may send again
};

// Counts one message for `user` at `now`. With hold, a message over a limit is counted and
// scheduled (not_before); without, it is not counted and over_limit says to refuse it.
SendDecision count_sent_message(WriteTxn& txn, UserId user, std::int64_t now, const SendLimits& limits, bool hold);

}  // namespace mailstead::storage
