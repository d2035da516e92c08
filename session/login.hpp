#pragma once
// Logging a user in, the same way in every protocol: the password is verified on the hashing
// pool (against a dummy hash for an unknown user, so timing tells nothing), a failure is
// counted for the client's address in the store (shared by all daemons, see
// storage/auth_failures.hpp) and answered only after the growing failure delay, and a locked
// address is refused before any password is looked at.

#include <optional>
#include <string>

#include "common/net/connection.hpp"
#include "common/sasl/sasl.hpp"
#include "session/services.hpp"
#include "storage/accounts.hpp"

namespace mailstead::session {

// True while the client's address is locked out after too many failures.
bool locked_out(const Services& services, const net::Connection& connection);

// The user when the credentials are right (and the user enabled); nullopt after a failure has
// been recorded, logged and its delay waited out.
net::awaitable<std::optional<storage::User>> log_in(const Services& services, net::Connection& connection,
                                                    sasl::Credentials credentials);

}  // namespace mailstead::session
