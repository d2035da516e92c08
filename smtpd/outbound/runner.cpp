#include "smtpd/outbound/runner.hpp"

#include <fmt/format.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <fstream>

#include "common/log/log.hpp"
#include "common/net/supervise.hpp"
#include "session/commit.hpp"
#include "smtpd/outbound/dsn.hpp"
#include "storage/accounts.hpp"
#include "storage/address.hpp"

namespace mailstead::outbound {
namespace {

namespace asio = net::asio;

constexpr std::size_t kScanBatch = 200;
constexpr std::chrono::seconds kIdleConnection{2};
constexpr std::size_t kMessagesPerConnection = 100;
constexpr std::chrono::seconds kIdleScan{5};  // also how soon `mailstead queue retry` is seen

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string domain_of(const std::string& address) {
  auto at = address.rfind('@');
  return storage::lower_ascii(at == std::string::npos ? std::string_view{} : std::string_view(address).substr(at + 1));
}

bool has_eight_bit(std::string_view bytes) {
  for (char c : bytes)
    if (static_cast<unsigned char>(c) >= 0x80) return true;
  return false;
}

bool is_ascii(std::string_view text) {
  return !has_eight_bit(text);
}

std::string read_first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  return line;
}

}  // namespace

struct QueueRunner::Group {
  std::string domain;
  std::vector<std::size_t> recipients;  // indexes into the entry
};

QueueRunner::QueueRunner(const session::Services& services, asio::io_context& io, std::shared_ptr<dns::Cache> dns_cache)
    : services_(services),
      cfg_(services.config.outbound),
      strand_(asio::make_strand(io)),
      wake_timer_(strand_),
      slot_freed_(strand_),
      resolver_(strand_, dns::server_list(services.config.dns.servers), services.config.dns.timeout,
                std::move(dns_cache)),
      tls_(make_client_tls_context()),
      policy_{cfg_.retry_first, cfg_.retry_max, cfg_.max_age} {
  if (!cfg_.relay_password_file.empty()) relay_password_ = read_first_line(cfg_.relay_password_file);
  for (const auto& n : cfg_.allowed_destinations) destinations_.allowed.push_back(*config::parse_cidr(n));
  destinations_.own = own_addresses();
  // Never expires: waits on it end only by cancel(), which leaves the expiry as it is, so a
  // waiter can wait again without disturbing the others.
  slot_freed_.expires_at(asio::steady_timer::time_point::max());
}

QueueRunner::~QueueRunner() = default;

void QueueRunner::start() {
  net::supervise(strand_, "queue_runner", [this] { return loop(); });
}

void QueueRunner::stop() {
  asio::dispatch(strand_, [this] {
    stopping_ = true;
    wake_timer_.cancel();
    slot_freed_.cancel();
    resolver_.cancel();
    for (auto& [id, signal] : cancels_) signal->emit(asio::cancellation_type::terminal);
    idle_.clear();  // no operation is pending on an idle connection: closing is immediate
  });
}

void QueueRunner::wake() {
  asio::post(strand_, [this] {
    woken_ = true;
    wake_timer_.cancel();
  });
}

// Idle connections past their time are closed (without QUIT: a remote server takes a plain
// close of an idle connection as well, and a QUIT would need a coroutine per connection).
void QueueRunner::close_idle() {
  auto cutoff = std::chrono::steady_clock::now() - kIdleConnection;
  for (auto it = idle_.begin(); it != idle_.end();) {
    auto& list = it->second;
    std::erase_if(list, [&](const Idle& i) { return i.since <= cutoff; });
    it = list.empty() ? idle_.erase(it) : std::next(it);
  }
}

net::awaitable<void> QueueRunner::loop() {
  while (!stopping_) {
    woken_ = false;
    close_idle();
    auto now = now_seconds();
    std::vector<storage::QueueEntry> due;
    std::int64_t next_due = now + kIdleScan.count();
    {
      auto txn = services_.store.read();
      due = storage::due_entries(txn, now, kScanBatch + in_flight_.size());
      for (const auto& e : storage::due_entries(txn, std::numeric_limits<std::int64_t>::max(), in_flight_.size() + 1))
        if (!in_flight_.contains(e.id)) next_due = std::min(next_due, e.next_attempt().value_or(next_due));
    }
    for (const auto& entry : due) {
      if (in_flight_.size() >= cfg_.max_deliveries) break;
      if (in_flight_.contains(entry.id)) continue;
      in_flight_.insert(entry.id);
      auto signal = std::make_shared<asio::cancellation_signal>();
      cancels_[entry.id] = signal;
      auto id = entry.id;
      asio::co_spawn(strand_, deliver_entry(id),
                     asio::bind_cancellation_slot(signal->slot(), [this, id](const std::exception_ptr& e) {
                       in_flight_.erase(id);
                       cancels_.erase(id);
                       if (e && !stopping_) {
                         try {
                           std::rethrow_exception(e);
                         } catch (const std::exception& ex) {
                           log::error("-", "queue_delivery_failed", "id={} error={}", id, log::quoted(ex.what()));
                         }
                       }
                       woken_ = true;
                       wake_timer_.cancel();
                     }));
    }
    if (woken_) continue;
    auto wake_at = std::chrono::steady_clock::now() + std::chrono::seconds(std::max<std::int64_t>(next_due - now, 1));
    if (!idle_.empty()) wake_at = std::min(wake_at, std::chrono::steady_clock::now() + kIdleConnection);
    wake_timer_.expires_at(wake_at);
    co_await wake_timer_.async_wait(net::use_tuple);
  }
}

net::awaitable<void> QueueRunner::deliver_entry(storage::QueueId id) {
  std::optional<storage::QueueEntry> entry;
  std::string message;
  {
    auto txn = services_.store.read();
    entry = storage::find_queue_entry(txn, id);
    if (!entry) co_return;
    auto bytes = storage::read_blob(txn, entry->blob);
    if (!bytes) co_return;
    message.assign(*bytes);  // the read transaction must not stay open across the network
  }
  auto now = now_seconds();
  std::vector<Group> groups;
  for (std::size_t i = 0; i < entry->recipients.size(); ++i) {
    const auto& r = entry->recipients[i];
    if (r.state != storage::RecipientState::pending || r.next_attempt > now) continue;
    auto domain = cfg_.relay ? std::string("relay") : domain_of(r.address);
    auto it = std::find_if(groups.begin(), groups.end(), [&](const Group& g) { return g.domain == domain; });
    if (it == groups.end())
      groups.push_back({domain, {i}});
    else
      it->recipients.push_back(i);
  }
  std::vector<AttemptResult> results;
  for (const auto& group : groups) {
    // Wait for a session slot to the domain. (Returning and rescanning instead made the loop
    // spin while a busy domain's slots were taken.)
    auto busy = [this, &group] {
      auto it = per_domain_.find(group.domain);
      return it != per_domain_.end() && it->second >= cfg_.max_per_domain;
    };
    while (busy() && !stopping_) co_await slot_freed_.async_wait(net::use_tuple);
    if (stopping_) co_return;
    per_domain_[group.domain] += 1;
    auto group_results = co_await deliver_group(*entry, group, message);
    // A domain with no session left leaves the map, which would otherwise keep every domain
    // this server ever sent to.
    if (--per_domain_[group.domain] == 0) per_domain_.erase(group.domain);
    slot_freed_.cancel();  // wakes every waiter; each checks again
    if (stopping_) co_return;
    results.insert(results.end(), group_results.begin(), group_results.end());
  }
  if (!results.empty()) co_await record(*entry, message, std::move(results));
}

net::awaitable<std::vector<std::string>> QueueRunner::route_for(const std::string& domain,
                                                                std::vector<AttemptResult>& failures,
                                                                const Group& group) {
  auto fail_all = [&](AttemptKind kind, const std::string& text, const std::string& status) {
    for (auto i : group.recipients) failures.push_back({i, kind, text, status, ""});
  };
  if (cfg_.relay) co_return std::vector<std::string>{cfg_.relay->host};
  auto answer = co_await resolver_.mx(domain);
  auto route = plan_route(domain, answer, rng_);
  switch (route.kind) {
    case RouteKind::hosts:
      co_return route.hosts;
    case RouteKind::null_mx:
      fail_all(AttemptKind::permanent, route.reason, "5.1.10");
      break;
    case RouteKind::no_such_domain:
      fail_all(AttemptKind::permanent, route.reason, "5.1.2");
      break;
    case RouteKind::temporary:
      fail_all(AttemptKind::temporary, route.reason, "4.4.3");
      break;
  }
  co_return std::vector<std::string>{};
}

net::awaitable<std::vector<AttemptResult>> QueueRunner::deliver_group(const storage::QueueEntry& entry,
                                                                      const Group& group, std::string_view message) {
  std::vector<AttemptResult> results;
  auto hosts = co_await route_for(group.domain, results, group);
  if (hosts.empty()) co_return results;

  Envelope envelope;
  envelope.sender = entry.sender;
  for (auto i : group.recipients) envelope.recipients.push_back(entry.recipients[i].address);
  envelope.eight_bit = has_eight_bit(message);
  envelope.smtputf8 = !is_ascii(entry.sender);
  for (const auto& r : envelope.recipients) envelope.smtputf8 = envelope.smtputf8 || !is_ascii(r);

  ClientOptions options;
  options.helo = services_.config.server.hostname;
  options.verify_certificate = cfg_.verify_certificates;
  options.attempt_timeout = cfg_.max_attempt_time;
  options.tls = cfg_.require_tls ? TlsMode::required : TlsMode::opportunistic;
  std::uint16_t port = static_cast<std::uint16_t>(cfg_.port);
  if (cfg_.relay) {
    port = cfg_.relay->port;
    options.tls = cfg_.relay_tls == config::RelayTls::implicit ? TlsMode::implicit : TlsMode::required;
    options.auth_user = cfg_.relay_user;
    options.auth_password = relay_password_;
    // The relay gets the password: its certificate is checked unless the site turned that off.
    options.verify_certificate = cfg_.relay_verify_certificate;
  }

  std::string last_failure = "no server could be reached";
  bool only_refused = true;  // every address found was refused by the destination policy
  for (const auto& host : hosts) {
    options.server_name = host;
    std::vector<asio::ip::address> addresses;
    net::error_code literal_error;
    auto literal = asio::ip::make_address(host, literal_error);
    if (!literal_error) {
      addresses.push_back(literal);
    } else {
      auto found = co_await resolver_.addresses(host);
      if (stopping_) co_return results;
      if (found.status != dns::Status::ok) {
        last_failure = fmt::format("cannot find the address of {}: {}", host,
                                   found.error.empty() ? "no A or AAAA record" : found.error);
        only_refused = false;
        continue;
      }
      addresses = std::move(found.addresses);
    }
    for (const auto& address : addresses) {
      if (auto why = cfg_.relay ? std::nullopt : refused_destination(address, destinations_)) {
        last_failure = fmt::format("{} has a {} address ({}), where mail is not sent (outbound.allowed_destinations)",
                                   host, *why, address.to_string());
        log::warn("-", "queue_destination_refused", "id={} host={} address={} why={}", entry.id, log::quoted(host),
                  address.to_string(), log::quoted(*why));
        continue;
      }
      only_refused = false;
      net::tcp::endpoint server(address, port);
      auto outcome = co_await send_over_cached_or_new(host, server, options, envelope, message);
      if (stopping_) co_return results;
      auto remote = fmt::format("{}[{}]", host, address.to_string());
      if (outcome.failure && outcome.failure->try_elsewhere) {
        last_failure = outcome.failure->text;
        log::info("-", "queue_try_next", "id={} server={} error={}", entry.id, log::quoted(remote),
                  log::quoted(last_failure));
        continue;
      }
      if (outcome.failure) {  // an answer for every recipient: 5xx to MAIL, AUTH refused, size, SMTPUTF8
        const auto& f = *outcome.failure;
        bool permanent = f.reply.code >= 500 || f.reply.code == 0;
        for (auto i : group.recipients)
          results.push_back({i, permanent ? AttemptKind::permanent : AttemptKind::temporary, f.text,
                             dsn_status(f.reply.code, f.reply.enhanced, permanent), remote});
        co_return results;
      }
      for (std::size_t k = 0; k < group.recipients.size(); ++k) {
        const auto& reply = outcome.recipients[k];
        auto kind = reply.positive() && reply.code != 0 ? AttemptKind::delivered
                    : reply.permanent()                 ? AttemptKind::permanent
                                                        : AttemptKind::temporary;
        auto text = reply.code == 0 ? std::string("no reply") : fmt::format("{} said: {}", remote, reply.one_line());
        results.push_back(
            {group.recipients[k], kind, text, dsn_status(reply.code, reply.enhanced, reply.permanent()), remote});
        log::info("-", "queue_result", "id={} to={} server={} result={} tls={}", entry.id,
                  log::quoted(envelope.recipients[k]), log::quoted(remote), log::quoted(reply.one_line()), outcome.tls);
      }
      co_return results;
    }
  }
  if (only_refused) {
    // Nowhere this domain's DNS points may be reached: a mistake or an attempt to reach
    // inside; either way retrying will not change it (RFC 3463 X.4.4: unable to route).
    for (auto i : group.recipients) results.push_back({i, AttemptKind::permanent, last_failure, "5.4.4", ""});
    co_return results;
  }
  for (auto i : group.recipients) results.push_back({i, AttemptKind::temporary, last_failure, "4.4.1", ""});
  log::info("-", "queue_deferred", "id={} domain={} error={}", entry.id, log::quoted(group.domain),
            log::quoted(last_failure));
  co_return results;
}

net::awaitable<SessionOutcome> QueueRunner::send_over_cached_or_new(std::string host, net::tcp::endpoint server,
                                                                    ClientOptions options, const Envelope& envelope,
                                                                    std::string_view message) {
  auto key = fmt::format("{}|{}|{}", host, server.address().to_string(), server.port());
  // A cached connection first; a server may have closed it meanwhile, so a cached connection
  // that fails before any reply gives way to a new one.
  if (auto it = idle_.find(key); it != idle_.end() && !it->second.empty()) {
    auto connection = std::move(it->second.back().connection);
    it->second.pop_back();
    auto outcome = co_await connection->send(envelope, message);
    bool lost_before_answer = outcome.failure && outcome.failure->reply.code == 0 && !outcome.data_sent;
    if (!lost_before_answer || stopping_) {
      keep_or_close(key, std::move(connection));
      co_return outcome;
    }
  }
  auto executor = co_await asio::this_coro::executor;
  auto connection = std::make_unique<SmtpConnection>(executor, tls_, std::move(options));
  SessionOutcome outcome;
  auto failed = co_await connection->open(server);
  if (failed) {
    outcome.failure = std::move(failed);
    co_return outcome;
  }
  outcome = co_await connection->send(envelope, message);
  keep_or_close(key, std::move(connection));
  co_return outcome;
}

void QueueRunner::keep_or_close(const std::string& key, std::unique_ptr<SmtpConnection> connection) {
  if (stopping_ || !connection->reusable() || connection->messages_sent() >= kMessagesPerConnection) return;
  idle_[key].push_back({std::move(connection), std::chrono::steady_clock::now()});
}

net::awaitable<void> QueueRunner::record(const storage::QueueEntry& attempted, std::string_view message,
                                         std::vector<AttemptResult> results) {
  auto now = now_seconds();
  auto id = attempted.id;
  // Notices are made from the entry as it was attempted first: building and parsing one (the
  // original may be the size limit with RET=FULL) must not hold the store's single writer. The
  // transaction works out again which are due and makes one itself only if the entry changed
  // meanwhile.
  auto prepared = prepare_notices(attempted, message, results, now);
  bool queued_more = false;
  storage::GroupCommitter::Work work = [&](storage::WriteTxn& txn) {
    queued_more = false;
    auto entry = storage::find_queue_entry(txn, id);
    if (!entry) return;  // removed by the admin meanwhile
    auto failed = apply_results(*entry, results, now, policy_);
    auto late = take_delay_notices(*entry, now, cfg_.delay_notice);
    if ((!failed.empty() || !late.empty()) && !entry->sender.empty()) {
      std::optional<std::string> original;
      for (auto [which, action] : {std::pair{&failed, DsnAction::failed}, std::pair{&late, DsnAction::delayed}}) {
        if (which->empty()) continue;
        auto ready = std::find_if(prepared.begin(), prepared.end(),
                                  [&](const Notice& n) { return n.action == action && n.which == *which; });
        if (ready != prepared.end()) {
          store_notice(txn, *entry, *ready);
          continue;
        }
        if (!original) original = std::string(storage::read_blob(txn, entry->blob).value_or(std::string_view{}));
        bool local = !storage::resolve(txn, entry->sender).users.empty();
        if (auto notice = make_notice(*entry, *which, results, *original, now, action, local))
          store_notice(txn, *entry, *notice);
      }
      queued_more = true;
    }
    auto updated = storage::update_queue_entry(txn, *entry);
    if (!updated) throw storage::StorageError(updated.error().code, updated.error().detail);
  };
  auto outcome = co_await session::commit(services_.committer, std::move(work));
  if (outcome.error) {
    try {
      std::rethrow_exception(outcome.error);
    } catch (const std::exception& e) {
      log::error("-", "queue_record_failed", "id={} error={}", id, log::quoted(e.what()));
    }
  }
  if (queued_more) wake();
}

std::vector<QueueRunner::Notice> QueueRunner::prepare_notices(const storage::QueueEntry& attempted,
                                                              std::string_view message,
                                                              const std::vector<AttemptResult>& results,
                                                              std::int64_t now) {
  if (attempted.sender.empty()) return {};  // RFC 5321 §4.5.5: no notice about a notice
  auto entry = attempted;
  auto failed = apply_results(entry, results, now, policy_);
  auto late = take_delay_notices(entry, now, cfg_.delay_notice);
  if (failed.empty() && late.empty()) return {};  // the common case: no store access at all
  bool local = false;
  {
    auto txn = services_.store.read();
    local = !storage::resolve(txn, entry.sender).users.empty();
  }
  std::vector<Notice> out;
  if (!failed.empty())
    if (auto n = make_notice(entry, failed, results, message, now, DsnAction::failed, local))
      out.push_back(std::move(*n));
  if (!late.empty())
    if (auto n = make_notice(entry, late, results, message, now, DsnAction::delayed, local))
      out.push_back(std::move(*n));
  return out;
}

std::optional<QueueRunner::Notice> QueueRunner::make_notice(const storage::QueueEntry& entry,
                                                            const std::vector<std::size_t>& which,
                                                            const std::vector<AttemptResult>& results,
                                                            std::string_view message, std::int64_t now,
                                                            DsnAction action, bool sender_local) {
  bool failed = action == DsnAction::failed;
  DsnInput in;
  in.reporting_mta = services_.config.server.hostname;
  in.to = entry.sender;
  in.envid = entry.envid;
  in.arrival = entry.created;
  in.now = now;
  in.return_full = entry.return_full;
  in.original = message;
  in.unique = fmt::format("{}.{}.{}", entry.id, now, rng_() & 0xffffff);
  in.retry_until = entry.created + cfg_.max_age.count();
  // RFC 3461 §4.1: NOTIFY=NEVER, or a list without this kind of notice, means none.
  auto wanted = failed ? storage::kNotifyFailure : storage::kNotifyDelay;
  for (auto i : which) {
    const auto& r = entry.recipients[i];
    if (r.notify & storage::kNotifyNever) continue;
    if (r.notify != 0 && !(r.notify & wanted)) continue;
    auto result =
        std::find_if(results.begin(), results.end(), [i](const AttemptResult& a) { return a.recipient == i; });
    std::string status = result == results.end() || result->status.empty() ? "4.4.1" : result->status;
    status[0] = failed ? '5' : '4';  // a temporary failure that outlived max_age is permanent now
    std::string remote = result == results.end() ? "" : result->remote_mta;
    in.recipients.push_back({r.address, r.orcpt, action, status, remote, r.last_error, now});
  }
  if (in.recipients.empty()) return std::nullopt;
  Notice notice;
  notice.action = action;
  notice.which = which;
  notice.reported = in.recipients.size();
  notice.dsn = build_dsn(in);
  // What local delivery adds to every message.
  if (sender_local)
    notice.local_copy = storage::prepare_message("Return-Path: <>\r\n" + notice.dsn, services_.config.limits.message);
  return notice;
}

// Runs inside the write transaction, and perhaps more than once (the store may run it again).
void QueueRunner::store_notice(storage::WriteTxn& txn, const storage::QueueEntry& entry, const Notice& notice) {
  auto where = storage::resolve(txn, entry.sender);
  if (!where.users.empty()) {
    std::optional<storage::PreparedMessage> made_now;  // the sender became local meanwhile
    if (!notice.local_copy)
      made_now = storage::prepare_message("Return-Path: <>\r\n" + notice.dsn, services_.config.limits.message);
    const auto& copy = notice.local_copy ? *notice.local_copy : *made_now;
    for (auto& o : storage::deliver_message(txn, copy, where.users))
      if (!o.result)
        log::warn("-", "bounce_not_stored", "id={} error={}", entry.id, log::quoted(o.result.error().detail));
  }
  if (!where.remote.empty() || where.unknown()) {
    storage::NewQueueEntry bounce_entry;
    bounce_entry.sender = "";  // the null sender: a bounce is never bounced
    for (const auto& address : where.unknown() ? std::vector<std::string>{entry.sender} : where.remote)
      bounce_entry.recipients.push_back({address, storage::RecipientState::pending, 0, 0, "", "", 0});
    auto queued = storage::enqueue(txn, notice.dsn, bounce_entry);
    if (!queued) throw storage::StorageError(queued.error().code, queued.error().detail);
  }
  log::info("-", notice.action == DsnAction::failed ? "bounce" : "delay_notice", "id={} to={} recipients={}", entry.id,
            log::quoted(entry.sender), notice.reported);
}

}  // namespace mailstead::outbound
