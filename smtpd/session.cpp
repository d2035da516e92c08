// mailstead-smtpd's session: one coroutine per connection.
//
// Implementation notes
// - Shape: greeting, then read a line -> parse (proto/command) -> check the state -> handle ->
//   queue the reply. Replies are written when no further complete command is buffered, so a
//   pipelined transaction (RFC 2920) costs one write, and never before the DATA reply.
// - State: `helo_` (EHLO/HELO done), `user_` (authenticated), `transaction_` (MAIL given,
//   with its accepted recipients). STARTTLS and a new EHLO reset what RFC 3207 §4.2 says.
// - DATA ends only at <CRLF>.<CRLF> (io::DotDataReader); bare CR or LF anywhere refuses the
//   message with 550 5.6.0 after reading to the real end, so nothing can be smuggled.
// - 250 after DATA is sent only after the group commit that stored the message is durable.
// - Every reply of 400 and above is logged with the session id; AUTH payloads never are.

#include "smtpd/session.hpp"

#include <fmt/format.h>

#include <chrono>
#include <ctime>
#include <random>

#include "common/io/data_reader.hpp"
#include "common/log/log.hpp"
#include "common/mime/mime.hpp"
#include "common/net/connection_limiter.hpp"
#include "common/sasl/sasl.hpp"
#include "common/version.hpp"
#include "session/commit.hpp"
#include "session/login.hpp"
#include "session/sasl_exchange.hpp"
#include "smtpd/message_edit.hpp"
#include "smtpd/policy.hpp"
#include "smtpd/proto/command.hpp"
#include "smtpd/proto/reply.hpp"
#include "storage/accounts.hpp"
#include "storage/address.hpp"
#include "storage/auth_failures.hpp"
#include "storage/messages.hpp"
#include "storage/queue.hpp"
#include "storage/send_limits.hpp"

namespace mailstead::smtp {
namespace {

using std::chrono::seconds;

struct AcceptedRecipient {
  Rcpt rcpt;
  std::vector<storage::UserId> users;
  std::vector<std::string> remote;
};

struct Transaction {
  Mail mail;
  std::vector<AcceptedRecipient> recipients;
  std::string chunks;     // BDAT data so far (RFC 3030)
  bool chunking = false;  // a BDAT was accepted: DATA is no longer allowed
  bool too_big = false;   // the chunks passed the size limit; the rest is discarded
};

// What the DATA reader reports, for a message that came in BDAT chunks.
io::DataStatus scan_chunked(std::string_view message, bool too_big) {
  io::DataStatus status;
  status.too_big = too_big;
  status.size = message.size();
  for (std::size_t i = 0; i < message.size(); ++i) {
    char c = message[i];
    if (c == '\0') status.nul = true;
    if (c == '\n' && (i == 0 || message[i - 1] != '\r')) status.bare_lf = true;
    if (c == '\r' && (i + 1 == message.size() || message[i + 1] != '\n')) status.bare_cr = true;
  }
  return status;
}

std::string random_token() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return fmt::format("{:016x}", rng());
}

class Session {
 public:
  Session(net::Connection& c, const SmtpContext& ctx, Port port)
      : c_(c), ctx_(ctx), cfg_(ctx.services.config), port_(port) {}

  net::awaitable<void> run() {
    queue_reply(reply(220, "", fmt::format("{} ESMTP mailstead", cfg_.server.hostname)));
    for (;;) {
      if (!c_.input().has_line() && !co_await flush()) co_return;
      auto result = co_await c_.read_line(cfg_.smtpd.command_timeout);
      if (auto* closed = std::get_if<net::Closed>(&result)) co_return co_await say_goodbye(closed->why);
      if (std::holds_alternative<io::LineTooLong>(result)) {
        if (!error(reply(500, "5.5.2", "Line too long"))) break;
        continue;
      }
      auto line = std::get<io::Line>(result);
      if (line.bare_lf || line.bare_cr) {
        if (!error(reply(500, "5.5.2", "Bare CR or LF in a command is not allowed"))) break;
        continue;
      }
      auto command = parse_command(line.text);  // named: see "Coroutine rules" in docs/ARCHITECTURE.md
      if (!co_await dispatch(std::move(command))) break;
    }
    co_await flush();
  }

 private:
  // --- replies --------------------------------------------------------------------------

  void queue_reply(const Reply& r) {
    out_ += r.serialize();
    if (r.code >= 400)
      log::info(c_.session_id(), "reply", "code={} status={} text={}", r.code, r.enhanced,
                log::quoted(r.lines.empty() ? "" : r.lines[0]));
  }

  // A protocol error: counted; false when the client has made too many and must go.
  bool error(const Reply& r) {
    queue_reply(r);
    if (++errors_ < cfg_.smtpd.max_errors) return true;
    queue_reply(reply(421, "4.7.0", "Too many errors, closing connection"));
    return false;
  }

  net::awaitable<bool> flush() {
    if (out_.empty()) co_return true;
    auto data = std::move(out_);
    out_.clear();
    co_return co_await c_.write(data, cfg_.smtpd.command_timeout);
  }

  net::awaitable<void> say_goodbye(net::ReadStatus why) {
    if (why == net::ReadStatus::timed_out) queue_reply(reply(421, "4.4.2", "Timeout, closing connection"));
    if (why == net::ReadStatus::shutdown) queue_reply(reply(421, "4.3.2", "Service shutting down, try again later"));
    co_await flush();
  }

  // --- dispatch ---------------------------------------------------------------------------

  net::awaitable<bool> dispatch(Command command) {
    if (auto* e = std::get_if<SyntaxError>(&command)) co_return error(reply(e->code, e->enhanced, e->text));
    if (auto* x = std::get_if<Ehlo>(&command)) co_return on_ehlo(*x);
    if (auto* x = std::get_if<Mail>(&command)) co_return on_mail(*x);
    if (auto* x = std::get_if<Rcpt>(&command)) co_return on_rcpt(*x);
    if (std::holds_alternative<Data>(command)) co_return co_await on_data();
    if (auto* x = std::get_if<Bdat>(&command)) co_return co_await on_bdat(*x);
    if (is_junk(command) && ++junk_ > cfg_.smtpd.max_junk_commands) {
      queue_reply(reply(421, "4.7.0", "Too many commands without a message, closing connection"));
      co_return false;
    }
    if (std::holds_alternative<Rset>(command)) {
      transaction_.reset();
      queue_reply(reply(250, "2.0.0", "Reset"));
      co_return true;
    }
    if (std::holds_alternative<Noop>(command)) {
      queue_reply(reply(250, "2.0.0", "OK"));
      co_return true;
    }
    if (std::holds_alternative<Quit>(command)) {
      queue_reply(reply(221, "2.0.0", fmt::format("{} closing connection", cfg_.server.hostname)));
      co_return false;
    }
    if (std::holds_alternative<Vrfy>(command)) {
      queue_reply(reply(252, "2.5.0", "Cannot verify the user, but will accept the message"));
      co_return true;
    }
    if (std::holds_alternative<Help>(command)) {
      queue_reply(reply(214, "2.0.0", "See RFC 5321; mailstead speaks ESMTP"));
      co_return true;
    }
    if (std::holds_alternative<StartTls>(command)) co_return co_await on_starttls();
    co_return co_await on_auth(std::get<Auth>(command));
  }

  // Commands that move no mail; a client sending only these just holds a connection.
  static bool is_junk(const Command& command) {
    return std::holds_alternative<Noop>(command) || std::holds_alternative<Rset>(command) ||
           std::holds_alternative<Vrfy>(command) || std::holds_alternative<Help>(command);
  }

  bool submission() const { return port_ == Port::submission || port_ == Port::submissions; }
  bool local() const { return port_ == Port::local; }
  bool may_relay() const { return user_.has_value() || trusted(); }
  bool auth_offered() const { return submission() && (c_.is_tls() || cfg_.smtpd.allow_plaintext_auth); }

  bool trusted() const {
    if (local()) return true;
    auto address = c_.remote().address();
    if (address.is_v4()) {
      auto bytes = address.to_v4().to_bytes();
      for (const auto& n : ctx_.trusted_networks)
        if (config::cidr_contains(n, bytes.data(), bytes.size())) return true;
    } else {
      auto bytes = address.to_v6().to_bytes();
      for (const auto& n : ctx_.trusted_networks)
        if (config::cidr_contains(n, bytes.data(), bytes.size())) return true;
    }
    return false;
  }

  // --- commands -----------------------------------------------------------------------------

  bool on_ehlo(const Ehlo& ehlo) {
    helo_ = ehlo.domain;
    extended_ = ehlo.extended;
    transaction_.reset();
    if (!ehlo.extended) {
      queue_reply(reply(250, "", cfg_.server.hostname));
      return true;
    }
    Reply r{250, "", {fmt::format("{} greets {}", cfg_.server.hostname, ehlo.domain)}};
    r.lines.push_back("PIPELINING");
    r.lines.push_back(fmt::format("SIZE {}", cfg_.smtpd.max_message_size));
    r.lines.push_back("8BITMIME");
    r.lines.push_back("SMTPUTF8");
    r.lines.push_back("ENHANCEDSTATUSCODES");
    r.lines.push_back("DSN");
    r.lines.push_back("CHUNKING");
    if (!c_.is_tls() && !local()) r.lines.push_back("STARTTLS");
    if (auth_offered() && !user_) r.lines.push_back("AUTH PLAIN LOGIN");
    queue_reply(r);
    return true;
  }

  bool on_mail(const Mail& mail) {
    if (!helo_) return error(reply(503, "5.5.1", "Send EHLO first"));
    if (transaction_) return error(reply(503, "5.5.1", "Nested MAIL command"));
    if (submission() && !user_) return error(reply(530, "5.7.0", "Authentication required"));
    if (mail.size && *mail.size > cfg_.smtpd.max_message_size)
      return error(reply(552, "5.3.4", "Message size exceeds the fixed maximum"));
    if (user_) {
      auto txn = ctx_.services.store.read();
      if (!mail.sender || !address_belongs_to(txn, mail.sender->to_string(), user_->id))
        return error(reply(553, "5.7.1", fmt::format("Sender address is not yours, {}", user_->address)));
    }
    transaction_ = Transaction{};
    transaction_->mail = mail;
    queue_reply(reply(250, "2.1.0", "Sender OK"));
    return true;
  }

  bool on_rcpt(const Rcpt& rcpt) {
    if (!transaction_) return error(reply(503, "5.5.1", "Send MAIL first"));
    if (transaction_->recipients.size() >= cfg_.smtpd.max_recipients) {
      queue_reply(reply(452, "4.5.3", "Too many recipients"));
      return true;
    }
    if (rcpt.recipient.utf8 && !transaction_->mail.smtputf8)
      return error(reply(553, "5.6.7", "Non-ASCII address needs SMTPUTF8"));
    auto mailbox = rcpt.recipient;
    if (mailbox.domain.empty()) {  // bare "postmaster" (RFC 5321 §4.1.1.3)
      auto domains = storage::list_domains(ctx_.services.store.read());
      mailbox.domain = domains.empty() ? cfg_.server.hostname : domains.front();
    }
    auto decision =
        decide_recipient(ctx_.services.store.read(), mailbox, may_relay(), transaction_->mail.size.value_or(0));
    switch (decision.verdict) {
      case RecipientVerdict::accepted:
        transaction_->recipients.push_back({rcpt, std::move(decision.users), std::move(decision.remote)});
        queue_reply(reply(250, "2.1.5", "Recipient OK"));
        return true;
      case RecipientVerdict::relay_denied:
        return error(reply(554, "5.7.1", fmt::format("<{}>: Relay access denied", rcpt.recipient.to_string())));
      case RecipientVerdict::unknown_user:
        return error(reply(550, "5.1.1", fmt::format("<{}>: No such user here", rcpt.recipient.to_string())));
      case RecipientVerdict::over_quota:
        queue_reply(
            reply(452, "4.2.2", fmt::format("<{}>: Mailbox full, try again later", rcpt.recipient.to_string())));
        return true;
      case RecipientVerdict::invalid_domain:
        return error(reply(550, "5.1.2", fmt::format("<{}>: Bad destination domain", rcpt.recipient.to_string())));
    }
    return true;
  }

  net::awaitable<bool> on_starttls() {
    if (c_.is_tls()) co_return error(reply(503, "5.5.1", "TLS already active"));
    if (local()) co_return error(reply(502, "5.5.1", "No TLS on the local socket"));
    queue_reply(reply(220, "2.0.0", "Ready to start TLS"));
    if (!co_await flush()) co_return false;
    if (auto ec = co_await c_.start_tls(cfg_.limits.tls_handshake_timeout)) {
      log::info(c_.session_id(), "tls_failed", "error={}", log::quoted(ec.message()));
      co_return false;
    }
    log::info(c_.session_id(), "tls", "cipher={}", log::quoted(c_.tls_description()));
    helo_.reset();  // RFC 3207 §4.2: forget everything learnt before TLS
    transaction_.reset();
    co_return true;
  }

  net::awaitable<bool> on_auth(const Auth& auth) {
    if (!auth_offered()) {
      if (submission()) co_return error(reply(538, "5.7.11", "Encryption required for AUTH; use STARTTLS"));
      co_return error(reply(503, "5.5.1", "AUTH is offered on the submission ports only"));
    }
    if (!helo_) co_return error(reply(503, "5.5.1", "Send EHLO first"));
    if (user_) co_return error(reply(503, "5.5.1", "Already authenticated"));
    if (transaction_) co_return error(reply(503, "5.5.1", "AUTH is not allowed during a mail transaction"));
    if (session::locked_out(ctx_.services, c_))
      co_return error(reply(454, "4.7.0", "Too many failed logins from your address; try again later"));
    auto mechanism = sasl::parse_mechanism(auth.mechanism);
    if (!mechanism) co_return error(reply(504, "5.5.4", "Unrecognized authentication mechanism"));
    auto outcome =
        co_await session::run_sasl(c_, *mechanism, auth.initial_response, "334 ", cfg_.smtpd.command_timeout, out_);
    if (!outcome) co_return false;
    auto step = std::move(*outcome);
    if (auto* failed = std::get_if<sasl::Failed>(&step)) {
      if (failed->reason == sasl::Failure::cancelled) co_return error(reply(501, "5.0.0", "Authentication cancelled"));
      co_return error(reply(501, "5.5.2", "Cannot decode the response"));
    }
    auto credentials = std::move(std::get<sasl::Success>(step).credentials);
    co_return co_await check_password(std::move(credentials));
  }

  net::awaitable<bool> check_password(sasl::Credentials credentials) {
    auto user = co_await session::log_in(ctx_.services, c_, std::move(credentials));
    if (!user) co_return error(reply(535, "5.7.8", "Authentication credentials invalid"));
    user_ = std::move(*user);
    queue_reply(reply(235, "2.7.0", "Authentication successful"));
    co_return true;
  }

  // --- DATA -------------------------------------------------------------------------------

  net::awaitable<bool> on_data() {
    if (!transaction_) co_return error(reply(503, "5.5.1", "Send MAIL first"));
    if (transaction_->recipients.empty()) co_return error(reply(554, "5.5.1", "No valid recipients"));
    if (transaction_->chunking) co_return error(reply(503, "5.5.1", "DATA is not allowed after BDAT"));
    queue_reply(reply(354, "", "End data with <CR><LF>.<CR><LF>"));
    if (!co_await flush()) co_return false;
    io::DotDataReader reader(cfg_.smtpd.max_message_size);
    std::string message;
    io::Sink sink = [&](std::span<const char> bytes) { message.append(bytes.data(), bytes.size()); };
    for (;;) {
      auto buffered = c_.input().buffered();
      c_.input().consume(reader.feed(buffered, sink));
      if (reader.done()) break;
      auto status = co_await c_.receive_more(cfg_.smtpd.data_timeout);
      if (status != net::ReadStatus::ok) {
        co_await say_goodbye(status);
        co_return false;
      }
    }
    auto transaction = std::move(*transaction_);
    transaction_.reset();
    co_return co_await finish_message(transaction, std::move(message), reader.status());
  }

  // RFC 3030: the chunk is read (and dropped if refused) before any reply, since the client
  // sends it without waiting; LAST ends the message like DATA's final dot.
  net::awaitable<bool> on_bdat(const Bdat& bdat) {
    bool accepted = transaction_ && !transaction_->recipients.empty();
    io::CountedReader reader(bdat.size);
    io::Sink keep = [&](std::span<const char> bytes) {
      if (!accepted || transaction_->too_big) return;
      if (transaction_->chunks.size() + bytes.size() > cfg_.smtpd.max_message_size) {
        transaction_->too_big = true;
        return;
      }
      transaction_->chunks.append(bytes.data(), bytes.size());
    };
    while (!reader.done()) {
      auto buffered = c_.input().buffered();
      c_.input().consume(reader.feed(buffered, keep));
      if (reader.done()) break;
      auto status = co_await c_.receive_more(cfg_.smtpd.data_timeout);
      if (status != net::ReadStatus::ok) {
        co_await say_goodbye(status);
        co_return false;
      }
    }
    if (!transaction_) co_return error(reply(503, "5.5.1", "Send MAIL first"));
    if (!accepted) co_return error(reply(554, "5.5.1", "No valid recipients"));
    transaction_->chunking = true;
    if (!bdat.last) {
      queue_reply(reply(250, "2.0.0", fmt::format("{} octets received", bdat.size)));
      co_return true;
    }
    auto transaction = std::move(*transaction_);
    transaction_.reset();
    auto message = std::move(transaction.chunks);
    auto status = scan_chunked(message, transaction.too_big);
    co_return co_await finish_message(transaction, std::move(message), status);
  }

  // The checks every complete message passes, DATA or BDAT, then delivery.
  net::awaitable<bool> finish_message(const Transaction& transaction, std::string message,
                                      const io::DataStatus& status) {
    if (status.bare_cr || status.bare_lf)
      co_return error(reply(550, "5.6.0", "Bare CR or LF in the message is not allowed; lines end in CRLF"));
    if (status.nul) co_return error(reply(550, "5.6.0", "NUL bytes are not allowed in a message"));
    if (status.too_big) co_return error(reply(552, "5.3.4", "Message size exceeds the fixed maximum"));
    if (message.empty()) co_return error(reply(554, "5.6.0", "An empty message is not accepted"));
    if (count_fields(message, "received") >= cfg_.smtpd.max_received_headers)
      co_return error(reply(554, "5.4.6", "Too many Received: fields, a mail loop"));
    if (user_ && !from_is_own(message)) co_return error(reply(553, "5.7.1", "From: address is not yours"));
    co_return co_await deliver(transaction, std::move(message));
  }

  // Every From: address must be the user's own (a message without From: passes: it is rare,
  // and RFC 6409 §8 lets an MSA add one, which we leave to the client).
  bool from_is_own(std::string_view message) {
    auto header = message.substr(0, mime::header_end(message));
    auto txn = ctx_.services.store.read();
    for (const auto& field : mime::parse_header_fields(header)) {
      if (storage::lower_ascii(field.name) != "from") continue;
      for (const auto& a : mime::parse_address_list(field.value)) {
        if (a.host.empty()) continue;  // group markers
        if (!address_belongs_to(txn, a.mailbox + "@" + a.host, user_->id)) return false;
      }
    }
    return true;
  }

  std::string protocol(const Transaction& t) const {
    std::string p = extended_ ? "ESMTP" : "SMTP";
    if (extended_ && c_.is_tls()) p += "S";
    if (extended_ && user_) p += "A";
    if (t.mail.smtputf8) p = "UTF8" + p;
    return p;
  }

  std::string prepend_trace(const Transaction& t, std::string_view message) {
    ReceivedInfo info;
    info.helo = helo_.value_or("");
    info.client_ip = c_.remote().address().to_string();
    if (const auto& peer = c_.local_peer()) info.local_uid = peer->uid;
    info.hostname = cfg_.server.hostname;
    info.protocol = protocol(t);
    info.tls = c_.is_tls() ? c_.tls_description() : "";
    info.id = c_.session_id();
    if (user_ && cfg_.smtpd.received_shows_user) info.authenticated = user_->address;
    if (t.recipients.size() == 1) info.for_address = t.recipients[0].rcpt.recipient.to_string();
    info.when = std::time(nullptr);
    std::string out = received_field(info);
    if (submission() || local()) {  // RFC 6409 §8.3, §8.6: the MSA completes what the client left out
      if (count_fields(message, "date") == 0) out += fmt::format("Date: {}\r\n", rfc5322_date(info.when));
      if (count_fields(message, "message-id") == 0)
        out += fmt::format("Message-ID: <{}.{}@{}>\r\n", info.when, random_token(), cfg_.server.hostname);
    }
    out += message;
    return out;
  }

  net::awaitable<bool> deliver(const Transaction& t, std::string message) {
    auto traced = prepend_trace(t, message);
    std::vector<storage::UserId> local;
    std::vector<storage::QueuedRecipient> remote;
    for (const auto& r : t.recipients) {
      for (auto id : r.users)
        if (std::find(local.begin(), local.end(), id) == local.end()) local.push_back(id);
      for (const auto& address : r.remote)
        remote.push_back({address, storage::RecipientState::pending, 0, 0, "", r.rcpt.orcpt, r.rcpt.notify});
    }
    std::string sender = t.mail.sender ? t.mail.sender->to_string() : "";
    auto local_copy = fmt::format("Return-Path: <{}>\r\n", sender) + traced;
    bool over_quota = false;
    std::int64_t limit_reopens = 0;
    storage::SendLimits limits{cfg_.smtpd.max_messages_per_hour, cfg_.smtpd.max_messages_per_day};
    storage::GroupCommitter::Work work = [&](storage::WriteTxn& txn) {
      over_quota = false;
      limit_reopens = 0;
      if (!local.empty()) {
        for (auto& o : storage::deliver_message(txn, local_copy, local)) {
          if (o.result) continue;
          over_quota = o.result.error().code == storage::Errc::over_quota;
          throw storage::StorageError(o.result.error().code, o.result.error().detail);  // all or nothing
        }
      }
      if (!remote.empty()) {
        std::int64_t not_before = 0;
        if (user_) {  // what leaves for other domains counts against the user's sending limits
          auto sent =
              storage::count_sent_message(txn, user_->id, std::time(nullptr), limits, cfg_.smtpd.hold_over_limit);
          if (sent.over_limit && !cfg_.smtpd.hold_over_limit) {
            limit_reopens = sent.reopens_at;
            throw storage::StorageError(storage::Errc::full, "sending limit");  // all or nothing
          }
          not_before = sent.not_before;
        }
        storage::NewQueueEntry entry{sender,    remote, user_ ? user_->id : 0, t.mail.envid, t.mail.ret == Ret::full,
                                     not_before};
        auto queued = storage::enqueue(txn, traced, entry);
        if (!queued) throw storage::StorageError(queued.error().code, queued.error().detail);
      }
    };
    auto outcome = co_await session::commit(ctx_.services.committer, std::move(work));
    if (outcome.error) {
      if (over_quota) co_return error(reply(452, "4.2.2", "Mailbox full, try again later"));
      if (limit_reopens) {
        log::info(c_.session_id(), "sending_limit", "user={}", log::quoted(user_->address));
        queue_reply(reply(451, "4.7.1",
                          fmt::format("Sending limit reached ({} an hour, {} a day); try again after {}",
                                      cfg_.smtpd.max_messages_per_hour, cfg_.smtpd.max_messages_per_day,
                                      rfc5322_date(static_cast<std::time_t>(limit_reopens)))));
        co_return true;
      }
      try {
        std::rethrow_exception(outcome.error);
      } catch (const std::exception& e) {
        log::error(c_.session_id(), "delivery_failed", "error={}", log::quoted(e.what()));
      }
      queue_reply(reply(451, "4.3.0", "Temporary failure storing the message, try again later"));
      co_return true;
    }
    if (!remote.empty() && ctx_.queued) ctx_.queued();
    log::info(c_.session_id(), "accepted", "from={} local={} remote={} size={}", log::quoted(sender, 300), local.size(),
              remote.size(), traced.size());
    junk_ = 0;
    queue_reply(reply(250, "2.0.0", fmt::format("OK, queued as {}", c_.session_id())));
    co_return true;
  }

  net::Connection& c_;
  const SmtpContext& ctx_;
  const config::Config& cfg_;
  Port port_;
  std::string out_;
  std::optional<std::string> helo_;
  bool extended_ = false;
  std::optional<storage::User> user_;
  std::optional<Transaction> transaction_;
  unsigned errors_ = 0;
  unsigned junk_ = 0;  // junk commands since the last accepted message
};

}  // namespace

net::awaitable<void> serve_smtp(net::Connection& connection, const SmtpContext& context, Port port) {
  Session session(connection, context, port);
  co_await session.run();
}

}  // namespace mailstead::smtp
