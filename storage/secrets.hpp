#pragma once
// Secrets the server makes once and keeps in the store, so that every daemon, every node of a
// shared store and every backup holds the same: the SRS key, which must still check the bounce
// addresses of mail forwarded before a restart.

#include <string>
#include <string_view>

#include "storage/store.hpp"

namespace mailstead::storage {

// The secret named `name`; the first call stores `candidate` (random bytes the caller made)
// and returns it, later calls return what was stored.
std::string server_secret(WriteTxn& txn, std::string_view name, std::string_view candidate);

}  // namespace mailstead::storage
