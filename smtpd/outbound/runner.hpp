#pragma once
// The queue runner of mailstead-smtpd: takes due queue entries, delivers each pending
// recipient to its domain's MX hosts (or the configured relay), records every outcome in the
// store, and returns what fails for good to the sender as a DSN.
//
// Implementation notes
// - Everything runs on one strand: the loop, the resolver (c-ares is entered only from it),
//   and every delivery coroutine. Deliveries run concurrently up to outbound.max_deliveries,
//   and at most outbound.max_per_domain to one domain.
// - An entry is delivered by one coroutine at a time (in_flight_). Its recipients are grouped
//   by domain; each group is one SMTP transaction per server tried. MX hosts are tried in
//   order, each of their addresses in turn, until a server answers for the recipients (a 2xx,
//   4xx or 5xx per recipient, or a 5xx to MAIL); a refused connection, a bad greeting or a
//   failed TLS handshake moves on to the next address.
// - Outcomes are committed (and bounces stored or queued) in one group-committed write
//   transaction per entry. A crash between a remote 250 and that commit sends the message
//   again on restart — the duplicate every MTA accepts rather than a loss.
// - Connections are reused: after a message, a connection that is still in step waits in
//   idle_ (keyed by host and address) for the next message to the same server, for at most
//   kIdleConnection and kMessagesPerConnection messages, like Postfix's connection cache.
// - stop() cancels every delivery in progress (nothing is recorded for them; they run again
//   after the restart) so that a shutdown never waits for a slow remote server.

#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>

#include "common/dns/resolver.hpp"
#include "common/net/asio.hpp"
#include "session/services.hpp"
#include "smtpd/outbound/client.hpp"
#include "smtpd/outbound/destination.hpp"
#include "smtpd/outbound/dsn.hpp"
#include "smtpd/outbound/retry.hpp"
#include "smtpd/outbound/route.hpp"
#include "storage/messages.hpp"
#include "storage/queue.hpp"

namespace mailstead::outbound {

class QueueRunner {
 public:
  // `dns_cache`: the process's, shared with the checks of inbound mail; may be null.
  QueueRunner(const session::Services& services, net::asio::io_context& io,
              std::shared_ptr<dns::Cache> dns_cache = nullptr);
  ~QueueRunner();

  void start();
  void stop();  // any thread
  void wake();  // any thread: new mail was queued

 private:
  struct Group;  // the recipients of one entry for one domain

  net::awaitable<void> loop();
  net::awaitable<void> deliver_entry(storage::QueueId id);
  net::awaitable<std::vector<AttemptResult>> deliver_group(const storage::QueueEntry& entry, const Group& group,
                                                           std::string_view message);
  net::awaitable<std::vector<std::string>> route_for(const std::string& domain, std::vector<AttemptResult>& failures,
                                                     const Group& group);
  net::awaitable<SessionOutcome> send_over_cached_or_new(std::string host, net::tcp::endpoint server,
                                                         ClientOptions options, const Envelope& envelope,
                                                         std::string_view message);
  void keep_or_close(const std::string& key, std::unique_ptr<SmtpConnection> connection);
  net::awaitable<void> record(const storage::QueueEntry& attempted, std::string_view message,
                              std::vector<AttemptResult> results);

  // A DSN to the sender (RFC 3464) for some recipients of a queue entry: failed (a bounce) or
  // delayed. Made, and parsed for local delivery, before the write transaction that stores it.
  struct Notice {
    DsnAction action = DsnAction::failed;
    std::vector<std::size_t> which;  // the entry's recipients it was made for
    std::size_t reported = 0;        // of those, the ones whose NOTIFY asks for it
    std::string dsn;
    std::optional<storage::PreparedMessage> local_copy;  // when the sender was a local user
  };
  // From the entry as it was attempted; the store is read only when a notice is due.
  std::vector<Notice> prepare_notices(const storage::QueueEntry& attempted, std::string_view message,
                                      const std::vector<AttemptResult>& results, std::int64_t now);
  std::optional<Notice> make_notice(const storage::QueueEntry& entry, const std::vector<std::size_t>& which,
                                    const std::vector<AttemptResult>& results, std::string_view message,
                                    std::int64_t now, DsnAction action, bool sender_local);
  void store_notice(storage::WriteTxn& txn, const storage::QueueEntry& entry, const Notice& notice);

  const session::Services& services_;
  const config::OutboundConfig& cfg_;
  net::asio::strand<net::asio::io_context::executor_type> strand_;
  net::asio::steady_timer wake_timer_;
  net::asio::steady_timer slot_freed_;  // cancelled whenever a per-domain session slot frees
  dns::Resolver resolver_;
  std::shared_ptr<net::ssl::context> tls_;
  RetryPolicy policy_;
  DestinationPolicy destinations_;  // where direct delivery may connect (not the relay: configured by hand)
  std::string relay_password_;
  std::mt19937_64 rng_{std::random_device{}()};
  std::set<storage::QueueId> in_flight_;
  std::map<std::string, unsigned> per_domain_;
  std::map<storage::QueueId, std::shared_ptr<net::asio::cancellation_signal>> cancels_;
  // Idle connections by server (host and address), kept kIdleConnection for the next message.
  struct Idle {
    std::unique_ptr<SmtpConnection> connection;
    std::chrono::steady_clock::time_point since;
  };
  std::map<std::string, std::vector<Idle>> idle_;
  void close_idle();  // the cached connections idle for longer than kIdleConnection
  bool stopping_ = false;
  bool woken_ = false;
};

}  // namespace mailstead::outbound
