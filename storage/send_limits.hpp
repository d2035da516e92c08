#pragma once
// How many messages, and how many recipients, each user has sent to other domains per hour and
// per day, so that a stolen password cannot turn the server into a spam cannon (the limits of
// hosted mail; counting messages alone let 200 messages an hour reach 20,000 recipients).
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
  std::uint32_t per_hour = 0;  // messages; 0: no limit
  std::uint32_t per_day = 0;
  std::uint32_t recipients_per_hour = 0;  // recipients in other domains; 0: no limit
  std::uint32_t recipients_per_day = 0;
  std::int64_t max_hold = 0;  // hold mode: the longest a message may be held, seconds; 0: no cap
};

struct SendDecision {
  bool over_limit = false;      // the message does not fit the current windows
  bool refused = false;         // ... and is not accepted (refuse mode, or held too long)
  std::int64_t not_before = 0;  // held: when it may go out (0: now)
  std::int64_t reopens_at = 0;  // refused: when the windows have room for it
};

// Counts one message to `recipients` remote recipients for `user` at `now`. With hold, a
// message over a limit is counted and scheduled (not_before), unless it would wait longer than
// max_hold; otherwise it is not counted and `refused` says so.
SendDecision count_sent_message(WriteTxn& txn, UserId user, std::int64_t now, std::uint32_t recipients,
                                const SendLimits& limits, bool hold);

}  // namespace mailstead::storage
