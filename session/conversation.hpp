#pragma once
// What every protocol session of mailstead does the same way, whatever its words: queueing
// output and writing it, answering and counting client errors, saying goodbye when the
// connection idles out or the server shuts down, upgrading to TLS, running a SASL exchange,
// logging a user in (with lockout), awaiting a durable write, and answering when a handler
// fails unexpectedly. Each protocol supplies its texts (Dialect) and frames its own replies;
// the session files keep only what is theirs.
//
// Contract
// - Output is queued and written by flush(); a protocol flushes when no further complete
//   command is buffered (pipelining: one write per batch), before it waits for the client,
//   and when the queue grows past its high-water mark.
// - Every refusal (NO, BAD, -ERR, 4xx, 5xx) goes through refuse() or error(), which log it
//   with the session id (event=reply, its first line); successes are not logged one by one.
// - Nothing here throws for anything a client does; a closed or slow peer is a false / an
//   empty optional.

#include <chrono>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "common/net/connection.hpp"
#include "common/sasl/sasl.hpp"
#include "session/services.hpp"
#include "storage/accounts.hpp"
#include "storage/group_commit.hpp"

namespace mailstead::session {

// How one protocol words the moments every session shares. Texts end in CRLF.
struct Dialect {
  std::chrono::seconds timeout{};  // for writes and for each line of a SASL exchange
  unsigned max_errors = 0;         // client errors before the session is ended
  std::string_view sasl_prefix;    // before each base64 challenge: "334 " (SMTP), "+ " (POP3, IMAP)
  std::string too_many_errors;     // the last words after max_errors client errors
  std::string timed_out;           // to a client idle for too long
  std::string shutting_down;       // to every client when the server stops
};

// Logging in: the user, or why not.
struct LockedOut {};    // the client's address is locked out after too many failures
struct LoginFailed {};  // wrong credentials, unknown or disabled user (logged, delay waited out)
using LoginOutcome = std::variant<storage::User, LockedOut, LoginFailed>;

// A SASL exchange that did not yield credentials.
enum class SaslRefusal { unknown_mechanism, cancelled, undecodable };
using SaslOutcome = std::variant<sasl::Credentials, SaslRefusal>;

// What a durable write came to: true once it is durable; otherwise why not, so that a full
// disk is told apart (SMTP 452 4.3.1, IMAP NO [UNAVAILABLE]) from other failures.
struct Written {
  std::optional<storage::Errc> failure;       // the store's code, io_error for anything else
  operator bool() const { return !failure; }  // NOLINT(google-explicit-constructor): `if (!co_await commit(...))`
};

class Conversation {
 public:
  Conversation(net::Connection& connection, const Services& services, Dialect dialect);

  net::Connection& connection() const { return connection_; }
  const Services& services() const { return services_; }
  const std::string& id() const { return connection_.session_id(); }
  const config::Config& config() const { return services_.config; }

  // --- output -------------------------------------------------------------------------------
  // The queue itself, for responses built in place (FETCH data, listings).
  std::string& out() { return out_; }
  void send(std::string_view text) { out_ += text; }
  // A refusal: queued, and logged with the session id.
  void refuse(std::string_view text);
  // A client error (bad syntax, a command out of sequence): refused and counted. False once
  // the client has made max_errors of them: the dialect's last words are queued, and the
  // session must end.
  bool error(std::string_view text);
  // True when the queue should be written now: no further complete command is buffered, or
  // the queue has passed `high_water`.
  bool should_flush(std::size_t high_water) const;
  // Writes the queue; false when the peer is gone or too slow.
  net::awaitable<bool> flush();

  // The dialect's words for a connection that timed out or is being shut down (nothing for a
  // peer that left), then the last flush.
  net::awaitable<void> goodbye(net::ReadStatus why);

  // A handler failed in a way no client input should cause (an exception escaped it): the
  // cause is logged with the session id and `reply` (the protocol's generic refusal, which
  // names the session id as a reference) is queued; the session goes on.
  void internal_error(std::string_view command, const std::exception_ptr& cause, std::string_view reply);

  // --- TLS ----------------------------------------------------------------------------------
  // Sends `go_ahead` (the protocol's "begin TLS" reply), then the handshake. False: the
  // connection is unusable and must end (the failure is logged).
  net::awaitable<bool> start_tls(std::string_view go_ahead);

  // --- logging in ---------------------------------------------------------------------------
  // The client's address is locked out now (a protocol that checks before the exchange).
  bool locked_out() const;
  // Lockout, then the password check on the hashing pool; a failure is counted and answered
  // only after its delay (session/login.hpp).
  net::awaitable<LoginOutcome> log_in(sasl::Credentials credentials);
  // The SASL exchange for `mechanism` (as the client named it), each challenge framed with the
  // dialect's prefix; output queued before it goes out with the first challenge. nullopt: the
  // connection closed or timed out during the exchange (nothing to answer).
  net::awaitable<std::optional<SaslOutcome>> authenticate(std::string_view mechanism,
                                                          std::optional<std::string> initial_response);

  // --- writing to the store -----------------------------------------------------------------
  // Runs `work` in the next group commit and resumes once it is durable. False when it failed:
  // the cause is logged (event=write_failed, with `what`: the command or step that wrote), and
  // nothing of `work` was written.
  net::awaitable<Written> commit(std::string_view what, storage::GroupCommitter::Work work);

 private:
  net::Connection& connection_;
  const Services& services_;
  Dialect dialect_;
  std::string out_;
  unsigned errors_ = 0;
};

}  // namespace mailstead::session
