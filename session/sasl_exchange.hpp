#pragma once
// A SASL exchange over a line protocol: each challenge goes out as `prefix` + base64 + CRLF
// ("334 " in SMTP, "+ " in POP3 and IMAP), each client line goes back to the mechanism, until
// it succeeds or fails. Protocol replies queued before the first challenge are sent with it.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "common/net/connection.hpp"
#include "common/sasl/sasl.hpp"

namespace mailstead::session {

// nullopt when the connection closed or timed out during the exchange (nothing to answer).
net::awaitable<std::optional<sasl::Step>> run_sasl(net::Connection& connection, sasl::Mechanism mechanism,
                                                   std::optional<std::string> initial_response,
                                                   std::string_view challenge_prefix, std::chrono::seconds timeout,
                                                   std::string& pending_output);

}  // namespace mailstead::session
