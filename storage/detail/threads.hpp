#pragma once
// Internal to storage/: threads of conversation, for RFC 8474's THREADID. A message joins the
// thread of the first message it names (In-Reply-To, then References from the last) that the
// same user already has, or of an earlier message that named it (a reply delivered before what
// it answers); otherwise it starts a thread. The index maps a user's Message-IDs, as SHA-256
// prefixes, to thread ids from a store-wide counter.
//
// The index only grows while the user exists (a message's Message-ID keeps its thread when the
// message is expunged, so a late reply still finds it): a few dozen bytes per message, at most
// kMaxThreadParents + 1 keys each.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/mime/mime.hpp"
#include "storage/accounts.hpp"
#include "storage/detail/lmdb.hpp"

namespace mailstead::storage::detail {

inline constexpr std::size_t kMaxThreadParents = 4;  // In-Reply-To and the last References

struct ThreadKeys {
  std::optional<std::string> own;    // the message's Message-ID, hashed
  std::vector<std::string> parents;  // the Message-IDs it names, nearest first, hashed
};

// From the parsed header: pure, made before the write transaction.
ThreadKeys thread_keys(const mime::Part& message);

// The thread a message of `user` with these keys belongs to; records its keys for later ones.
std::uint64_t assign_thread(TxnState& t, UserId user, const ThreadKeys& keys);

void remove_threads(TxnState& t, UserId user);

}  // namespace mailstead::storage::detail
