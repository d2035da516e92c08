#pragma once
// Greylisting (RFC 6647): mail from a client network, sender and recipient never seen together
// is deferred once; a real MTA retries after the delay and gets through, much spamware never
// does. Kept in the store, so that a restart or a second daemon does not greylist everyone
// again.
//
// Implementation notes
// - A triplet is (client network, sender, recipient): the network is an IPv4 /24 or an IPv6
//   /64 (RFC 6647 §2.1: large senders retry from another address of the same pool); addresses
//   in lower case, the sender empty for bounces.
// - Only a new (or forgotten) triplet is written when it is seen; a known one is read. That it
//   passed is written with the message it let through, in the same transaction.
// - After a message gets through, its client network is allowed for `allow_for` (RFC 6647
//   §4.3, "auto-allowlisting"): a sender that retried once is not greylisted again for weeks.
// - Bounded: at most `max_entries` triplets; past that a new triplet is not greylisted (the
//   check is skipped rather than holding legitimate mail), and store maintenance forgets
//   triplets that never came back within `max_retry` and allowances past `allow_for`.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "storage/store.hpp"

namespace mailstead::storage {

struct GreylistPolicy {
  std::int64_t delay = 300;          // seconds before a retry is let through
  std::int64_t max_retry = 172800;   // a triplet that has not come back by then is forgotten
  std::int64_t allow_for = 3024000;  // a network that got mail through is allowed this long
  std::uint64_t max_entries = 100000;
};

struct Triplet {
  std::string network;  // "192.0.2.0/24", "2001:db8::/64"
  std::string sender;   // lower case; empty: <>
  std::string recipient;
};

enum class GreylistVerdict {
  pass,     // the network is allowed, or the triplet passed before
  retried,  // the delay has passed since the triplet was first seen: let through (and mark)
  defer,    // seen, too early
  unseen,   // new, or forgotten: record it, then defer
  full,     // new, but the table is full: not greylisted
};

struct GreylistCheck {
  GreylistVerdict verdict = GreylistVerdict::pass;
  std::int64_t wait = 0;  // defer and unseen: seconds until a retry passes
};

GreylistCheck check_greylist(const ReadTxn& txn, const Triplet& triplet, std::int64_t now,
                             const GreylistPolicy& policy);
// An unseen triplet is recorded as first seen now.
void record_greylist(WriteTxn& txn, const Triplet& triplet, std::int64_t now);
// A message got through: its recorded triplets passed, and their network is allowed until
// now + allow_for (triplets of an allowed network are not recorded).
void greylist_passed(WriteTxn& txn, const std::vector<Triplet>& triplets, std::int64_t now,
                     const GreylistPolicy& policy);
// Store maintenance: forgets at most `max` expired triplets and allowances; returns how many.
std::size_t expire_greylist(WriteTxn& txn, std::int64_t now, const GreylistPolicy& policy, std::size_t max);
std::uint64_t greylist_entries(const ReadTxn& txn);

}  // namespace mailstead::storage
