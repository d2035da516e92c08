// mailstead-smtpd's session: one coroutine per connection.
//
// Implementation notes
// - Shape: greeting, then read a line -> parse (proto/command) -> check the phase the command
//   table gives it -> its handler -> queue the reply. Replies are written when no further
//   complete command is buffered, so a pipelined transaction (RFC 2920) costs one write, and
//   never before the DATA reply.
// - State: a StateMachine of the phases Connected -> Greeted (EHLO/HELO, with the greeting) ->
//   InTransaction (MAIL given, with its accepted recipients); `user_` (authenticated) lasts
//   across transactions. STARTTLS goes back to Connected (RFC 3207 §4.2), a new EHLO or the
//   end of a message to Greeted.
// - DATA ends only at <CRLF>.<CRLF> (io::DotDataReader); bare CR or LF anywhere refuses the
//   message with 550 5.6.0 after reading to the real end, so nothing can be smuggled.
// - 250 after DATA is sent only after the group commit that stored the message is durable.
// - Every reply of 400 and above is logged with the session id; AUTH payloads never are.

#include "smtpd/session.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <chrono>
#include <ctime>
#include <random>

#include "common/io/data_reader.hpp"
#include "common/log/log.hpp"
#include "common/mime/mime.hpp"
#include "common/net/address.hpp"
#include "common/net/connection_limiter.hpp"
#include "common/overloaded.hpp"
#include "common/sasl/sasl.hpp"
#include "common/srs/srs.hpp"
#include "common/version.hpp"
#include "session/commit.hpp"
#include "session/conversation.hpp"
#include "session/maintenance.hpp"
#include "session/state.hpp"
#include "smtpd/auth_results.hpp"
#include "smtpd/inbound_checks.hpp"
#include "smtpd/message_edit.hpp"
#include "smtpd/milters.hpp"
#include "smtpd/policy.hpp"
#include "smtpd/proto/command.hpp"
#include "smtpd/proto/reply.hpp"
#include "storage/accounts.hpp"
#include "storage/address.hpp"
#include "storage/auth_failures.hpp"
#include "storage/greylist.hpp"
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
  bool forwarded = false;  // `remote` came from one of our addresses (an alias, an SRS bounce address)
};

struct Transaction {
  Mail mail;
  std::vector<AcceptedRecipient> recipients;
  std::string chunks;                      // BDAT data so far (RFC 3030)
  bool chunking = false;                   // a BDAT was accepted: DATA is no longer allowed
  bool too_big = false;                    // the chunks passed the size limit; the rest is discarded
  std::optional<SpfCheck> spf;             // mail from other servers, when checked
  std::optional<SpfCheck> helo_spf;        // and the HELO identity's, for a non-null sender
  bool discard = false;                    // a content filter said: accept it, deliver nothing
  std::vector<storage::Triplet> greylist;  // checked and let through: marked passed with the message
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

std::mt19937_64& random_engine() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return rng;
}

std::string random_token() {
  return fmt::format("{:016x}", random_engine()());
}

// RFC 5321 §4.1.4: the phases of a session, in the order of smtp::Phase. The client's
// greeting is kept from HELO/EHLO on; a transaction carries its sender and recipients.
struct Greeting {
  std::string domain;
  bool extended = false;  // EHLO
};
struct Connected {
  static constexpr std::string_view kName = "connected";
};
struct Greeted {
  static constexpr std::string_view kName = "greeted";
  Greeting hello;
};
struct InTransaction {
  static constexpr std::string_view kName = "in_transaction";
  Greeting hello;
  Transaction mail;
};

session::Dialect smtp_dialect(const config::Config& config) {
  return {
      .timeout = config.smtpd.command_timeout,
      .max_errors = config.smtpd.max_errors,
      .sasl_prefix = "334 ",
      .too_many_errors = reply(status::kClosingPolicy, "Too many errors, closing connection").serialize(),
      .timed_out = reply(status::kTimedOut, "Timeout, closing connection").serialize(),
      .shutting_down = reply(status::kShuttingDown, "Service shutting down, try again later").serialize(),
  };
}

// The one mapping of the store's error codes to SMTP replies.
Status status_of(storage::Errc code) {
  switch (code) {
    case storage::Errc::over_quota:
      return status::kMailboxFull;
    case storage::Errc::no_space:  // RFC 3463 X.3.1: mail system full
      return status::kSystemFull;
    default:
      return status::kStoreFailed;
  }
}

class Session {
 public:
  Session(net::Connection& c, const SmtpContext& ctx, Port port)
      : talk_(c, ctx.services, smtp_dialect(ctx.services.config)),
        ctx_(ctx),
        cfg_(ctx.services.config),
        port_(port),
        state_(c.session_id()) {}

  net::awaitable<void> run() {
    if (port_ == Port::mx && !trusted() && !co_await screen()) {
      co_await talk_.flush();
      co_return;
    }
    if (!co_await filter_connect()) {
      co_await talk_.flush();
      co_return;
    }
    answer(reply(status::kReady, fmt::format("{} ESMTP mailstead", cfg_.server.hostname)));
    for (;;) {
      if (talk_.should_flush(SIZE_MAX) && !co_await talk_.flush()) co_return;
      auto result = co_await connection().read_line(cfg_.smtpd.command_timeout);
      if (auto* closed = std::get_if<net::Closed>(&result)) co_return co_await talk_.goodbye(closed->why);
      if (std::holds_alternative<io::LineTooLong>(result)) {
        if (!error(reply(status::kUnrecognized, "Line too long"))) break;
        continue;
      }
      auto line = std::get<io::Line>(result);
      if (line.bare_lf || line.bare_cr) {
        if (!error(reply(status::kUnrecognized, "Bare CR or LF in a command is not allowed"))) break;
        continue;
      }
      auto command = parse_command(line.text);  // named: see "Coroutine rules" in docs/ARCHITECTURE.md
      if (!co_await dispatch(std::move(command))) break;
    }
    co_await talk_.flush();
  }

  // The session is over: the filters are told (SMFIC_QUIT).
  net::awaitable<void> finish() {
    if (milters_) co_await milters_->quit();
  }

 private:
  net::Connection& connection() const { return talk_.connection(); }

  // --- replies ------------------------------------------------------------------------------

  // Every reply of 400 and above is logged with the session id (the conversation's refuse()).
  void answer(const Reply& r) {
    if (r.code >= 400)
      talk_.refuse(r.serialize());
    else
      talk_.send(r.serialize());
  }
  // A protocol error: counted; false when the client has made too many and must go.
  bool error(const Reply& r) { return talk_.error(r.serialize()); }

  // --- dispatch ---------------------------------------------------------------------------

  Phase phase() const { return static_cast<Phase>(state_.index()); }

  // False: the session ends. A handler that throws is answered 451 and the session goes on.
  net::awaitable<bool> dispatch(Command command) {
    const auto* info = command_info(command);
    if (info && !info->accepts(phase())) {
      bool early = (info->phases >> static_cast<unsigned>(phase())) != 0;  // an accepting phase lies ahead
      co_return error(reply(status::kBadSequence, early ? info->too_early : info->too_late));
    }
    if (info && info->junk && ++junk_ > cfg_.smtpd.max_junk_commands) {
      answer(reply(status::kClosingPolicy, "Too many commands without a message, closing connection"));
      co_return false;
    }
    std::exception_ptr failure;
    try {
      co_return co_await handle(command);
    } catch (...) {
      failure = std::current_exception();
    }
    auto text = fmt::format("Internal error, try again later (reference {})", talk_.id());
    talk_.internal_error(info ? info->name : "", failure, reply(status::kStoreFailed, text).serialize());
    co_return true;
  }

  // The handler column of the command table: one per command, named after it.
  net::awaitable<bool> handle(const Command& command) {
    return std::visit(Overloaded{
                          [this](const Ehlo& c) { return on_ehlo(c); },
                          [this](const Mail& c) { return on_mail(c); },
                          [this](const Rcpt& c) { return on_rcpt(c); },
                          [this](const Data& c) { return on_data(c); },
                          [this](const Bdat& c) { return on_bdat(c); },
                          [this](const Rset& c) { return on_rset(c); },
                          [this](const Noop& c) { return on_noop(c); },
                          [this](const Quit& c) { return on_quit(c); },
                          [this](const Vrfy& c) { return on_vrfy(c); },
                          [this](const Help& c) { return on_help(c); },
                          [this](const StartTls& c) { return on_starttls(c); },
                          [this](const Auth& c) { return on_auth(c); },
                          [this](const SyntaxError& c) { return on_syntax_error(c); },
                      },
                      command);
  }

  net::awaitable<bool> on_syntax_error(const SyntaxError& e) { co_return error(reply(e.code, e.enhanced, e.text)); }

  bool submission() const { return port_ == Port::submission || port_ == Port::submissions; }
  bool local() const { return port_ == Port::local; }
  bool may_relay() const { return user_.has_value() || trusted(); }
  bool auth_offered() const { return submission() && (connection().is_tls() || cfg_.smtpd.allow_plaintext_auth); }

  bool trusted() const { return local() || net::in_networks(connection().remote().address(), ctx_.trusted_networks); }

  const Greeting& hello() const {
    if (const auto* t = state_.get_if<InTransaction>()) return t->hello;
    return state_.as<Greeted>().hello;  // callers are past HELO/EHLO
  }
  // Back to the greeted phase: the transaction (if any) is over.
  void end_transaction() {
    if (auto* t = state_.get_if<InTransaction>()) {
      auto greeting = std::move(t->hello);
      state_.enter<Greeted>(std::move(greeting));
    }
  }

  // --- commands -----------------------------------------------------------------------------

  // RFC 5321 §4.1.1.1 (and §4.1.4: a new greeting ends any transaction); the EHLO keywords of
  // the extensions offered.
  net::awaitable<bool> on_ehlo(const Ehlo& ehlo) {
    if (milters_) {
      co_await milters_->abort();
      auto macros = helo_macros();
      auto filtered = co_await milters_->helo(ehlo.domain, macros);
      if (filtered.refused()) {
        state_.enter<Connected>();
        co_return error(filtered.reply);
      }
    }
    state_.enter<Greeted>(Greeting{ehlo.domain, ehlo.extended});
    if (!ehlo.extended) {
      answer(reply(status::kGreeted, cfg_.server.hostname));
      co_return true;
    }
    Reply r{250, "", {fmt::format("{} greets {}", cfg_.server.hostname, ehlo.domain)}};
    r.lines.push_back("PIPELINING");
    r.lines.push_back(fmt::format("SIZE {}", cfg_.smtpd.max_message_size));
    r.lines.push_back("8BITMIME");
    r.lines.push_back("SMTPUTF8");
    r.lines.push_back("ENHANCEDSTATUSCODES");
    r.lines.push_back("DSN");
    r.lines.push_back("CHUNKING");
    if (!connection().is_tls() && !local()) r.lines.push_back("STARTTLS");
    if (auth_offered() && !user_) r.lines.push_back("AUTH PLAIN LOGIN");
    answer(r);
    co_return true;
  }

  // RFC 5321 §4.1.1.2; RFC 6409 §4.3 (submission needs AUTH), RFC 1870 SIZE.
  net::awaitable<bool> on_mail(const Mail& mail) {
    if (submission() && !user_) co_return error(reply(status::kAuthRequired, "Authentication required"));
    if (mail.size && *mail.size > cfg_.smtpd.max_message_size)
      co_return error(reply(status::kTooBig, "Message size exceeds the fixed maximum"));
    if (user_) {
      auto txn = ctx_.services.store.read();
      if (!mail.sender || !address_belongs_to(txn, mail.sender->to_string(), user_->id))
        co_return error(reply(status::kNotYours, fmt::format("Sender address is not yours, {}", user_->address)));
    }
    std::optional<SpfCheck> spf, helo_spf;
    if (from_outside() && ctx_.dns && cfg_.spf.check) {
      spf = co_await spf_of(mail);
      log::info(talk_.id(), "spf", "identity={} domain={} result={} reason={}", spf->helo ? "helo" : "mailfrom",
                log::quoted(spf->domain), spf::to_string(spf->outcome.result), log::quoted(spf->outcome.reason));
      // RFC 7208 §8.4: a fail may be refused at once; RFC 7372 §3.2 gives it 5.7.23.
      if (spf->outcome.result == spf::Result::fail && cfg_.spf.on_fail == config::SpfFail::reject) {
        auto why = spf->outcome.explanation.empty()
                       ? fmt::format("SPF: {} does not designate {} as a sender", spf->domain,
                                     net::canonical(connection().remote().address()).to_string())
                       : spf->outcome.explanation;
        co_return error(reply(status::kSpfFail, why));
      }
      // RFC 7208 §2.3: the HELO identity too (checked once per session: spf_of keeps it),
      // recorded beside MAIL FROM's; a HELO that is not a domain name is not checked.
      const auto& helo = hello().domain;
      if (mail.sender && helo.find('.') != std::string::npos && !helo.starts_with('[')) {
        Mail helo_only;
        helo_spf = co_await spf_of(helo_only);
        log::info(talk_.id(), "spf", "identity=helo domain={} result={} reason={}", log::quoted(helo_spf->domain),
                  spf::to_string(helo_spf->outcome.result), log::quoted(helo_spf->outcome.reason));
      }
    }
    bool discard = false;
    if (milters_) {
      auto args = mail_args(mail);
      auto macros = mail_macros(mail);
      auto filtered = co_await milters_->mail(args, macros);
      if (filtered.refused()) co_return error(filtered.reply);
      discard = filtered.kind == FilterVerdict::Kind::discard;
    }
    auto greeting = hello();
    state_.enter<InTransaction>(
        std::move(greeting), Transaction{mail, {}, {}, false, false, std::move(spf), std::move(helo_spf), discard, {}});
    answer(reply(status::kSenderOk, "Sender OK"));
    co_return true;
  }

  // SPF of a transaction's sender (RFC 7208). A client that repeats MAIL FROM (RSET between)
  // cannot make us repeat the lookups: a sender checked before in the session gets its earlier
  // result, and past spf.max_checks_per_session distinct senders the result is temperror.
  net::awaitable<SpfCheck> spf_of(const Mail& mail) {
    auto key = fmt::format("{}\n{}", mail.sender ? storage::lower_ascii(mail.sender->to_string()) : "",
                           storage::lower_ascii(hello().domain));
    for (const auto& [checked, result] : spf_checked_)
      if (checked == key) co_return result;
    if (spf_checked_.size() >= cfg_.spf.max_checks_per_session) {
      SpfCheck limited;
      limited.helo = !mail.sender;
      limited.domain = mail.sender ? mail.sender->domain : hello().domain;
      limited.outcome = {spf::Result::temperror, "too many SPF checks in one session", ""};
      co_return limited;
    }
    auto result = co_await check_spf(*ctx_.dns, connection().remote().address(), mail, hello().domain,
                                     cfg_.server.hostname, cfg_.spf.max_time);
    spf_checked_.emplace_back(std::move(key), result);
    co_return result;
  }

  // Before the greeting on port 25: the client must wait for it (RFC 5321 §3.1), and its
  // address must not be on the configured DNS block lists (RFC 5782). False: it was refused
  // with a 554 greeting (§3.1 / §4.2.2), which ends the session.
  net::awaitable<bool> screen() {
    const auto& smtpd = cfg_.smtpd;
    if (smtpd.greeting_delay.count() > 0 && co_await connection().talks_within(smtpd.greeting_delay)) {
      log::info(talk_.id(), "early_talker", "delay={}s", smtpd.greeting_delay.count());
      answer(reply(status::kNoService, "SMTP protocol violation: talked before the greeting"));
      co_return false;
    }
    if (ctx_.dns) {
      iprev_ = co_await check_iprev(*ctx_.dns, connection().remote().address());
      log::info(talk_.id(), "iprev", "result={} name={}", iprev_->result, log::quoted(iprev_->name));
    }
    if (!smtpd.dns_lists.empty() && ctx_.dns) {
      auto listed = co_await check_dns_lists(*ctx_.dns, connection().remote().address(), smtpd.dns_lists);
      dns_list_score_ = listed.score;
      if (!listed.listed_on.empty())
        log::info(talk_.id(), "dns_listed", "lists={} score={}",
                  log::quoted(fmt::format("{}", fmt::join(listed.listed_on, ","))), listed.score);
      if (listed.score >= static_cast<int>(smtpd.dns_list_threshold)) {
        auto address = net::canonical(connection().remote().address()).to_string();
        auto why = listed.text.empty()
                       ? fmt::format("Client {} is listed by {}", address, listed.zone)
                       : fmt::format("Client {} is listed by {}: {}", address, listed.zone, listed.text);
        answer(reply(status::kNoService, why));
        co_return false;
      }
    }
    co_return true;
  }

  // --- greylisting (RFC 6647) ----------------------------------------------------------------

  // Mail from other servers, unless the client is on a DNS allow list.
  bool greylisted() const { return cfg_.greylist.enabled && from_outside() && dns_list_score_ >= 0; }

  // RFC 6647 §2.1: an IPv4 /24, an IPv6 /64.
  static std::string greylist_network(const net::asio::ip::address& address) {
    auto a = net::canonical(address);
    if (!a.is_v4()) return net::ConnectionLimiter::client_key(a);
    auto bytes = a.to_v4().to_bytes();
    return fmt::format("{}.{}.{}.0/24", bytes[0], bytes[1], bytes[2]);
  }

  // The reply deferring this recipient, or nullopt when it may pass (the triplet is then kept
  // in the transaction, to be marked passed with the message).
  net::awaitable<std::optional<Reply>> greylist(Transaction& transaction, const Rcpt& rcpt) {
    if (!greylisted()) co_return std::nullopt;
    storage::Triplet triplet{greylist_network(connection().remote().address()),
                             transaction.mail.sender ? storage::lower_ascii(transaction.mail.sender->to_string()) : "",
                             storage::lower_ascii(rcpt.recipient.to_string())};
    const auto now = static_cast<std::int64_t>(std::time(nullptr));
    const auto policy = session::greylist_policy(cfg_.greylist);
    auto check = storage::check_greylist(ctx_.services.store.read(), triplet, now, policy);
    switch (check.verdict) {
      case storage::GreylistVerdict::pass:
      case storage::GreylistVerdict::retried:
        transaction.greylist.push_back(std::move(triplet));
        co_return std::nullopt;
      case storage::GreylistVerdict::full:
        log::warn(talk_.id(), "greylist_full", "max_entries={}", cfg_.greylist.max_entries);
        co_return std::nullopt;
      case storage::GreylistVerdict::unseen: {
        storage::GroupCommitter::Work work = [&](storage::WriteTxn& txn) {
          storage::record_greylist(txn, triplet, now);
        };
        co_await talk_.commit("greylist", std::move(work));  // deferred whether or not it was kept
        break;
      }
      case storage::GreylistVerdict::defer:
        break;
    }
    log::info(talk_.id(), "greylisted", "network={} sender={} recipient={} wait={}s", triplet.network,
              log::quoted(triplet.sender, 300), log::quoted(triplet.recipient, 300), check.wait);
    co_return reply(status::kGreylisted, fmt::format("Greylisted, try again in {} seconds", check.wait));
  }

  // --- content filters (milters) --------------------------------------------------------------

  // Mail from other servers passes the filters; users' mail too unless milter.users is off.
  bool filtered() const {
    return !cfg_.milter.servers.empty() && ((port_ == Port::mx && !trusted()) || cfg_.milter.users);
  }

  // The filters' connect stage. False: one refused the client, whom the reply (a 554 or 421
  // greeting, RFC 5321 §3.1) sends away.
  net::awaitable<bool> filter_connect() {
    if (!filtered()) co_return true;
    milters_.emplace(connection().get_executor(), cfg_.milter, talk_.id());
    milter::Peer peer;
    if (local()) {
      peer.family = 'U';
      peer.address = cfg_.smtpd.local_socket.string();
    } else {
      auto address = net::canonical(connection().remote().address());
      peer.family = address.is_v4() ? '4' : '6';
      peer.port = connection().remote().port();
      peer.address = address.to_string();
    }
    auto macros = connect_macros();
    auto filtered = co_await milters_->connect(client_name(), peer, macros);
    if (!filtered.refused()) co_return true;
    answer(filtered.reply);
    co_return false;
  }

  // The client's name as its reverse DNS gave it and the forward lookup confirmed, or "unknown"
  // (Postfix's convention, which filters expect).
  std::string client_name() const {
    if (iprev_ && iprev_->result == "pass") return iprev_->name;
    return local() ? "localhost" : "unknown";
  }

  // The macros a filter gets, at the stages Postfix sends them by default (milter_*_macros).
  milter::Macros connect_macros() const {
    auto address = local() ? std::string("127.0.0.1") : net::canonical(connection().remote().address()).to_string();
    return {{"j", cfg_.server.hostname},
            {"{daemon_name}", "mailstead-smtpd"},
            {"{daemon_addr}", connection().local().address().to_string()},
            {"v", fmt::format("mailstead {}", kVersion)},
            {"_", fmt::format("{} [{}]", client_name(), address)},
            {"{client_addr}", address},
            {"{client_name}", client_name()}};
  }
  milter::Macros helo_macros() const {
    if (!connection().is_tls()) return {};
    auto tls = connection().tls_description();  // "TLSv1.3 TLS_AES_256_GCM_SHA384"
    auto space = tls.find(' ');
    return {{"{tls_version}", tls.substr(0, space)},
            {"{cipher}", space == std::string::npos ? std::string() : tls.substr(space + 1)}};
  }
  milter::Macros mail_macros(const Mail& mail) const {
    milter::Macros m{{"i", talk_.id()},
                     {"{mail_addr}", mail.sender ? mail.sender->to_string() : ""},
                     {"{mail_host}", mail.sender ? mail.sender->domain : ""},
                     {"{mail_mailer}", local() ? "local" : "smtp"}};
    if (user_) {
      m.emplace_back("{auth_type}", "PLAIN");
      m.emplace_back("{auth_authen}", user_->address);
    }
    return m;
  }
  milter::Macros rcpt_macros(const Rcpt& rcpt, bool remote) const {
    return {{"{rcpt_addr}", rcpt.recipient.to_string()},
            {"{rcpt_host}", rcpt.recipient.domain},
            {"{rcpt_mailer}", remote ? "smtp" : "local"}};
  }
  milter::Macros message_macros() const { return {{"i", talk_.id()}}; }

  // --- forwarding (SRS) --------------------------------------------------------------------

  bool is_local(std::string_view domain) const {
    auto normalized = storage::normalize_domain(domain);
    return normalized && storage::is_local_domain(ctx_.services.store.read(), *normalized);
  }

  // The envelope sender that mail to `r` leaves with: for mail an alias of ours forwards from
  // another domain's sender, an SRS address of the alias's domain, so that SPF at the
  // destination sees a domain that sent it (RFC 7208 §1.1.3 leaves forwarders this). Bounces
  // (null sender) and senders of our own domains go as they are.
  std::string envelope_sender(const AcceptedRecipient& r, const std::string& sender) const {
    if (!r.forwarded || sender.empty() || ctx_.srs_secret.empty()) return sender;
    auto at = sender.rfind('@');
    if (at == std::string::npos || is_local(std::string_view(sender).substr(at + 1))) return sender;
    auto forwarder = storage::normalize_domain(r.rcpt.recipient.domain);
    auto rewritten = forwarder ? srs::forward(sender, *forwarder, ctx_.srs_secret, std::time(nullptr)) : std::nullopt;
    if (!rewritten) return sender;  // too long to rewrite: sent as it came
    return *rewritten;
  }

  // SMFIR_DELRCPT and SMFIR_ADDRCPT: a filter's word on the envelope, as Postfix takes it. An
  // added recipient is routed like any other (a local user, an alias, another domain), without
  // the relay check: the filter is the operator's.
  void change_recipients(std::vector<AcceptedRecipient>& recipients, const FilteredMessage& filtered,
                         std::uint64_t size) {
    auto bare = [](std::string_view a) {
      if (a.size() >= 2 && a.front() == '<' && a.back() == '>') a = a.substr(1, a.size() - 2);
      return storage::lower_ascii(a);
    };
    for (const auto& gone : filtered.deleted_recipients) {
      auto address = bare(gone);
      auto removed = std::erase_if(recipients, [&](const AcceptedRecipient& r) {
        return storage::lower_ascii(r.rcpt.recipient.to_string()) == address;
      });
      log::info(talk_.id(), "milter_recipient", "action=delete address={} found={}", log::quoted(address), removed);
    }
    for (const auto& added : filtered.added_recipients) {
      auto address = bare(added);
      auto mailbox = parse_mailbox(address);
      auto decision = mailbox ? decide_recipient(ctx_.services.store.read(), *mailbox, true, size)
                              : RecipientDecision{RecipientVerdict::invalid_domain, {}, {}};
      bool accepted = mailbox && decision.verdict == RecipientVerdict::accepted;
      log::info(talk_.id(), "milter_recipient", "action=add address={} accepted={}", log::quoted(address), accepted);
      if (accepted)
        recipients.push_back({Rcpt{*mailbox, 0, ""}, std::move(decision.users), std::move(decision.remote)});
    }
  }

  // MAIL and RCPT as a filter is sent them: the path in <>, then the ESMTP parameters.
  static std::vector<std::string> mail_args(const Mail& mail) {
    std::vector<std::string> args{fmt::format("<{}>", mail.sender ? mail.sender->to_string() : "")};
    if (mail.size) args.push_back(fmt::format("SIZE={}", *mail.size));
    if (mail.body == Body::eight_bit_mime) args.emplace_back("BODY=8BITMIME");
    if (mail.body == Body::binary_mime) args.emplace_back("BODY=BINARYMIME");
    if (mail.smtputf8) args.emplace_back("SMTPUTF8");
    if (mail.ret == Ret::full) args.emplace_back("RET=FULL");
    if (mail.ret == Ret::headers) args.emplace_back("RET=HDRS");
    return args;
  }
  static std::vector<std::string> rcpt_args(const Rcpt& rcpt) {
    return {fmt::format("<{}>", rcpt.recipient.to_string())};
  }

  // Mail from another server: not a user's, not from a trusted network or this machine.
  bool from_outside() const { return !user_ && !trusted() && !submission(); }

  // RFC 5321 §4.1.1.3 (and §4.5.3.1.10: a limit on recipients is a 452, not an error).
  net::awaitable<bool> on_rcpt(const Rcpt& rcpt) {
    auto& transaction = state_.as<InTransaction>().mail;
    if (transaction.recipients.size() >= cfg_.smtpd.max_recipients) {
      answer(reply(status::kTooManyRecipients, "Too many recipients"));
      co_return true;
    }
    if (rcpt.recipient.utf8 && !transaction.mail.smtputf8)
      co_return error(reply(status::kNeedsSmtputf8, "Non-ASCII address needs SMTPUTF8"));
    auto mailbox = rcpt.recipient;
    if (mailbox.domain.empty()) {  // bare "postmaster" (RFC 5321 §4.1.1.3)
      auto domains = storage::list_domains(ctx_.services.store.read());
      mailbox.domain = domains.empty() ? cfg_.server.hostname : domains.front();
    }
    auto decision =
        decide_recipient(ctx_.services.store.read(), mailbox, may_relay(), transaction.mail.size.value_or(0));
    auto address = rcpt.recipient.to_string();
    if (decision.verdict == RecipientVerdict::unknown_user && srs::is_srs(mailbox.local) && !ctx_.srs_secret.empty()) {
      // A bounce to an address we rewrote (or anything claiming to be one): only ours pass.
      auto reversed = srs::reverse(mailbox.local, ctx_.srs_secret, std::time(nullptr),
                                   static_cast<unsigned>(cfg_.srs.max_age.count() / 86400));
      if (auto* why = std::get_if<srs::Error>(&reversed)) {
        log::info(talk_.id(), "srs_refused", "address={} reason={}", log::quoted(address, 300), srs::to_string(*why));
        co_return error(reply(status::kNoSuchUser, fmt::format("<{}>: Invalid or expired SRS address", address)));
      }
      decision = {RecipientVerdict::accepted, {}, {std::get<std::string>(reversed)}};
    }
    bool forwarded = !decision.remote.empty() && is_local(mailbox.domain);
    switch (decision.verdict) {
      case RecipientVerdict::accepted:
        if (auto deferred = co_await greylist(transaction, rcpt)) {
          answer(*deferred);
          co_return true;
        }
        if (milters_ && !transaction.discard) {
          auto args = rcpt_args(rcpt);
          auto macros = rcpt_macros(rcpt, decision.users.empty());
          auto filtered = co_await milters_->rcpt(args, macros);
          if (filtered.refused()) co_return error(filtered.reply);
          if (filtered.kind == FilterVerdict::Kind::discard) transaction.discard = true;
        }
        transaction.recipients.push_back({rcpt, std::move(decision.users), std::move(decision.remote), forwarded});
        answer(reply(status::kRecipientOk, "Recipient OK"));
        co_return true;
      case RecipientVerdict::relay_denied:
        co_return error(reply(status::kRelayDenied, fmt::format("<{}>: Relay access denied", address)));
      case RecipientVerdict::unknown_user:
        co_return error(reply(status::kNoSuchUser, fmt::format("<{}>: No such user here", address)));
      case RecipientVerdict::over_quota:
        answer(reply(status::kMailboxFull, fmt::format("<{}>: Mailbox full, try again later", address)));
        co_return true;
      case RecipientVerdict::invalid_domain:
        co_return error(reply(status::kBadDestination, fmt::format("<{}>: Bad destination domain", address)));
    }
    co_return true;
  }

  // RFC 5321 §4.1.1.4, §4.5.3.1.6 (size).
  net::awaitable<bool> on_data(const Data&) {
    auto& transaction = state_.as<InTransaction>().mail;
    if (transaction.recipients.empty()) co_return error(reply(status::kNoRecipients, "No valid recipients"));
    if (transaction.chunking) co_return error(reply(status::kBadSequence, "DATA is not allowed after BDAT"));
    answer(reply(status::kStartData, "End data with <CR><LF>.<CR><LF>"));
    if (!co_await talk_.flush()) co_return false;
    io::DotDataReader reader(cfg_.smtpd.max_message_size);
    std::string message;
    io::Sink sink = [&](std::span<const char> bytes) { message.append(bytes.data(), bytes.size()); };
    for (;;) {
      auto buffered = connection().input().buffered();
      connection().input().consume(reader.feed(buffered, sink));
      if (reader.done()) break;
      auto status = co_await connection().receive_more(cfg_.smtpd.data_timeout);
      if (status != net::ReadStatus::ok) {
        co_await talk_.goodbye(status);
        co_return false;
      }
    }
    auto finished = std::move(state_.as<InTransaction>().mail);
    end_transaction();
    co_return co_await finish_message(finished, std::move(message), reader.status());
  }

  // RFC 3030: the chunk is read (and dropped if refused) before any reply, since the client
  // sends it without waiting; LAST ends the message like DATA's final dot.
  net::awaitable<bool> on_bdat(const Bdat& bdat) {
    auto* in_transaction = state_.get_if<InTransaction>();
    Transaction* transaction = in_transaction ? &in_transaction->mail : nullptr;
    bool accepted = transaction && !transaction->recipients.empty();
    io::CountedReader reader(bdat.size);
    io::Sink keep = [&](std::span<const char> bytes) {
      if (!accepted || transaction->too_big) return;
      if (transaction->chunks.size() + bytes.size() > cfg_.smtpd.max_message_size) {
        transaction->too_big = true;
        return;
      }
      transaction->chunks.append(bytes.data(), bytes.size());
    };
    while (!reader.done()) {
      auto buffered = connection().input().buffered();
      connection().input().consume(reader.feed(buffered, keep));
      if (reader.done()) break;
      auto status = co_await connection().receive_more(cfg_.smtpd.data_timeout);
      if (status != net::ReadStatus::ok) {
        co_await talk_.goodbye(status);
        co_return false;
      }
    }
    if (!transaction) co_return error(reply(status::kBadSequence, "Send MAIL first"));
    if (!accepted) co_return error(reply(status::kNoRecipients, "No valid recipients"));
    transaction->chunking = true;
    if (!bdat.last) {
      answer(reply(status::kOk, fmt::format("{} octets received", bdat.size)));
      co_return true;
    }
    auto finished = std::move(*transaction);
    end_transaction();
    auto message = std::move(finished.chunks);
    auto status = scan_chunked(message, finished.too_big);
    co_return co_await finish_message(finished, std::move(message), status);
  }

  // RFC 5321 §4.1.1.5.
  net::awaitable<bool> on_rset(const Rset&) {
    end_transaction();
    if (milters_) co_await milters_->abort();
    answer(reply(status::kOk, "Reset"));
    co_return true;
  }

  // RFC 5321 §4.1.1.9.
  net::awaitable<bool> on_noop(const Noop&) {
    answer(reply(status::kOk, "OK"));
    co_return true;
  }

  // RFC 5321 §4.1.1.10.
  net::awaitable<bool> on_quit(const Quit&) {
    answer(reply(status::kClosing, fmt::format("{} closing connection", cfg_.server.hostname)));
    co_return false;
  }

  // RFC 5321 §3.5.3: 252 when the server will not say whether a user exists.
  net::awaitable<bool> on_vrfy(const Vrfy&) {
    answer(reply(status::kCannotVerify, "Cannot verify the user, but will accept the message"));
    co_return true;
  }

  // RFC 5321 §4.1.1.8.
  net::awaitable<bool> on_help(const Help&) {
    answer(reply(status::kHelp, "See RFC 5321; mailstead speaks ESMTP"));
    co_return true;
  }

  // RFC 3207 §4; §4.2: everything learnt before TLS is forgotten (back to before HELO).
  net::awaitable<bool> on_starttls(const StartTls&) {
    if (connection().is_tls()) co_return error(reply(status::kBadSequence, "TLS already active"));
    if (local()) co_return error(reply(status::kNotAvailable, "No TLS on the local socket"));
    auto go_ahead = reply(status::kTlsReady, "Ready to start TLS").serialize();  // named: see "Coroutine rules"
    if (!co_await talk_.start_tls(go_ahead)) co_return false;
    state_.enter<Connected>();
    co_return true;
  }

  // RFC 4954 §4: offered on the submission ports (after STARTTLS unless plaintext AUTH is
  // allowed), once, after EHLO and outside a transaction.
  net::awaitable<bool> on_auth(const Auth& auth) {
    if (!auth_offered()) {
      if (submission())
        co_return error(reply(status::kEncryptionRequired, "Encryption required for AUTH; use STARTTLS"));
      co_return error(reply(status::kBadSequence, "AUTH is offered on the submission ports only"));
    }
    if (state_.is<Connected>()) co_return error(reply(status::kBadSequence, "Send EHLO first"));
    if (user_) co_return error(reply(status::kBadSequence, "Already authenticated"));
    if (state_.is<InTransaction>())
      co_return error(reply(status::kBadSequence, "AUTH is not allowed during a mail transaction"));
    if (talk_.locked_out()) co_return error(locked_out_reply());
    if (!sasl::parse_mechanism(auth.mechanism))
      co_return error(reply(status::kUnknownMechanism, "Unrecognized authentication mechanism"));
    auto initial = auth.initial_response;
    auto outcome = co_await talk_.authenticate(auth.mechanism, std::move(initial));
    if (!outcome) co_return false;
    if (auto* refusal = std::get_if<session::SaslRefusal>(&*outcome)) {
      if (*refusal == session::SaslRefusal::cancelled)
        co_return error(reply(status::kAuthCancelled, "Authentication cancelled"));
      co_return error(reply(status::kAuthUndecodable, "Cannot decode the response"));
    }
    auto login = co_await talk_.log_in(std::move(std::get<sasl::Credentials>(*outcome)));
    if (std::holds_alternative<session::LockedOut>(login)) co_return error(locked_out_reply());
    if (std::holds_alternative<session::LoginFailed>(login))
      co_return error(reply(status::kBadCredentials, "Authentication credentials invalid"));
    user_ = std::move(std::get<storage::User>(login));
    answer(reply(status::kAuthenticated, "Authentication successful"));
    co_return true;
  }

  static Reply locked_out_reply() {
    return reply(status::kAuthLocked, "Too many failed logins from your address; try again later");
  }

  // --- the message ------------------------------------------------------------------------

  // The checks every complete message passes, DATA or BDAT, then delivery.
  net::awaitable<bool> finish_message(const Transaction& transaction, std::string message,
                                      const io::DataStatus& status) {
    if (status.bare_cr || status.bare_lf)
      co_return error(reply(status::kBadContent, "Bare CR or LF in the message is not allowed; lines end in CRLF"));
    if (status.nul) co_return error(reply(status::kBadContent, "NUL bytes are not allowed in a message"));
    if (status.too_big) co_return error(reply(status::kTooBig, "Message size exceeds the fixed maximum"));
    if (message.empty()) co_return error(reply(status::kEmptyMessage, "An empty message is not accepted"));
    // The header is bounded before anything reads all of it (RFC 5322 sets no limit; no real
    // mail comes near these, and every check below, and the index, must see every field).
    const auto& limits = cfg_.limits.message;
    auto header = measure_header(message);
    if (header.bytes > limits.max_header_size)
      co_return error(reply(status::kTooBig, fmt::format("Message header exceeds the fixed maximum of {} bytes",
                                                         limits.max_header_size)));
    if (header.fields > limits.max_header_fields)
      co_return error(reply(status::kTooBig, fmt::format("Message header has more than the fixed maximum of {} fields",
                                                         limits.max_header_fields)));
    // RFC 5322 §3.6: exactly one From:. Two would let a message show one author and be judged
    // (sender binding, later DMARC) by another.
    if (header.from > 1)
      co_return error(reply(status::kBadContent, "More than one From: field (RFC 5322 section 3.6)"));
    if (header.received >= cfg_.smtpd.max_received_headers)
      co_return error(reply(status::kMailLoop, "Too many Received: fields, a mail loop"));
    if (user_ && header.from + header.sender > 0 && !author_is_own(message))
      co_return error(reply(status::kNotYours, "From: address is not yours"));
    co_return co_await deliver(transaction, std::move(message), header);
  }

  // Every From: and Sender: address, in every such field, must be the user's own (a message
  // without From: passes: it is rare, and RFC 6409 §8 lets an MSA add one, which we leave to
  // the client). The header's size is bounded by now, so reading all of it is too.
  bool author_is_own(std::string_view message) {
    mime::FieldReader fields(message.substr(0, mime::header_end(message)));
    auto txn = ctx_.services.store.read();
    std::string_view name, value;
    while (fields.next(name, value)) {
      auto lower = storage::lower_ascii(name);
      if (lower != "from" && lower != "sender") continue;
      for (const auto& a : mime::parse_address_list(mime::unfold(value))) {
        if (a.host.empty()) continue;  // group markers
        if (!address_belongs_to(txn, a.mailbox + "@" + a.host, user_->id)) return false;
      }
    }
    return true;
  }

  std::string protocol(const Transaction& t) const {
    bool extended = hello().extended;
    std::string p = extended ? "ESMTP" : "SMTP";
    if (extended && connection().is_tls()) p += "S";
    if (extended && user_) p += "A";
    if (t.mail.smtputf8) p = "UTF8" + p;
    return p;
  }

  std::string prepend_trace(const Transaction& t, std::string_view message, const HeaderMeasure& header) {
    ReceivedInfo info;
    info.helo = hello().domain;
    info.client_ip = connection().remote().address().to_string();
    if (iprev_ && iprev_->result == "pass") info.client_name = iprev_->name;
    if (const auto& peer = connection().local_peer()) info.local_uid = peer->uid;
    info.hostname = cfg_.server.hostname;
    info.protocol = protocol(t);
    info.tls = connection().is_tls() ? connection().tls_description() : "";
    info.id = talk_.id();
    if (user_ && cfg_.smtpd.received_shows_user) info.authenticated = user_->address;
    if (t.recipients.size() == 1) info.for_address = t.recipients[0].rcpt.recipient.to_string();
    info.when = std::time(nullptr);
    std::string out = received_field(info);
    if (submission() || local()) {  // RFC 6409 §8.3, §8.6: the MSA completes what the client left out
      if (header.date == 0) out += fmt::format("Date: {}\r\n", rfc5322_date(info.when));
      if (header.message_id == 0)
        out += fmt::format("Message-ID: <{}.{}@{}>\r\n", info.when, random_token(), cfg_.server.hostname);
    }
    out += message;
    return out;
  }

  // RFC 8601 §5: a claim to be us from outside goes, whoever sends it; mail from other
  // servers then gets our own findings, above it and below our Received field.
  // What the checks made of a message: the message with our field on top, and what the sender
  // domain's DMARC policy says to do with it (applied only with dmarc.apply_policy).
  struct Checked {
    std::string message;
    dmarc::Policy disposition = dmarc::Policy::none;
    std::string dmarc_domain;  // the author domain whose policy decided
  };

  net::awaitable<Checked> authenticate(std::string message, const std::optional<SpfCheck>& spf,
                                       const std::optional<SpfCheck>& helo_spf) {
    Checked out;
    const auto& authserv_id = cfg_.server.hostname;
    if (auto removed = strip_our_results(message, authserv_id))
      log::info(talk_.id(), "forged_results_removed", "count={}", removed);
    if (!from_outside()) {
      out.message = std::move(message);
      co_return out;
    }
    std::vector<MethodResult> results;
    if (iprev_) results.push_back(iprev_result(*iprev_, connection().remote().address()));
    if (spf) results.push_back(spf_result(*spf));
    if (helo_spf) results.push_back(spf_result(*helo_spf));
    std::vector<DkimCheck> dkim_checks;
    if (ctx_.dns && cfg_.dkim.verify) {
      dkim_checks = co_await check_dkim(*ctx_.dns, message, std::time(nullptr), cfg_.dkim.verify_max_signatures);
      for (const auto& c : dkim_checks)
        log::info(talk_.id(), "dkim", "domain={} selector={} result={} reason={}", log::quoted(c.domain),
                  log::quoted(c.selector), dkim::to_string(c.verdict.result), log::quoted(c.verdict.reason));
      for (auto& r : dkim_results(dkim_checks)) results.push_back(std::move(r));
    }
    if (ctx_.dns && cfg_.dmarc.check) {
      auto roll = std::uniform_int_distribution<unsigned>(0, 99)(random_engine());
      auto checks = co_await check_dmarc(*ctx_.dns, message, spf, dkim_checks, roll);
      for (const auto& c : checks) {
        log::info(talk_.id(), "dmarc", "domain={} result={} policy={} disposition={} reason={}", log::quoted(c.domain),
                  dmarc::to_string(c.verdict.result), dmarc::to_string(c.verdict.policy),
                  dmarc::to_string(c.verdict.disposition), log::quoted(c.verdict.reason));
        if (c.verdict.disposition > out.disposition) {  // of several author domains, the strictest
          out.disposition = c.verdict.disposition;
          out.dmarc_domain = c.domain;
        }
      }
      for (auto& r : dmarc_results(checks)) results.push_back(std::move(r));
    }
    out.message = authentication_results(authserv_id, results) + message;
    co_return out;
  }

  net::awaitable<bool> deliver(const Transaction& t, std::string message, const HeaderMeasure& header) {
    auto checked = co_await authenticate(std::move(message), t.spf, t.helo_spf);
    auto into = storage::SpecialUse::none;
    if (cfg_.dmarc.apply_policy && checked.disposition == dmarc::Policy::reject) {
      // RFC 7489 §6.7 / §10.3: a reject policy is applied by refusing the message at the end of
      // DATA; the sender's own server then tells its user.
      co_return error(reply(status::kDmarcReject, fmt::format("Message refused by {}'s DMARC policy: it is not "
                                                              "authenticated as sent by that domain",
                                                              checked.dmarc_domain)));
    }
    if (cfg_.dmarc.apply_policy && checked.disposition == dmarc::Policy::quarantine) into = storage::SpecialUse::junk;
    auto traced = prepend_trace(t, checked.message, header);
    bool discard = t.discard;
    auto recipients = t.recipients;  // the filters may add and remove some
    if (!discard && milters_) {
      const auto& limits = cfg_.limits.message;
      // The filters' fields come on top of a message that may already be as large as allowed.
      milter::EditLimits edit_limits{limits.max_header_size, cfg_.smtpd.max_message_size + limits.max_header_size};
      auto macros = message_macros();
      auto filtered = co_await milters_->message(std::move(traced), macros, edit_limits);
      if (filtered.verdict.refused()) co_return error(filtered.verdict.reply);
      if (filtered.verdict.kind == FilterVerdict::Kind::discard) discard = true;
      traced = std::move(filtered.message);
      change_recipients(recipients, filtered, t.mail.size.value_or(traced.size()));
      if (recipients.empty()) discard = true;
      if (!filtered.junk_reason.empty()) {
        log::info(talk_.id(), "junk", "reason={}", log::quoted(filtered.junk_reason));
        into = storage::SpecialUse::junk;
      }
    }
    if (discard) {  // the filter's word: the client is told it was taken, and nothing is kept
      log::info(talk_.id(), "discarded", "from={}", log::quoted(t.mail.sender ? t.mail.sender->to_string() : "", 300));
      junk_ = 0;
      answer(reply(status::kOk, fmt::format("OK, queued as {}", talk_.id())));
      co_return true;
    }
    // RFC 6376 §5: the author's domain vouches for what its users and trusted clients send.
    if (ctx_.dkim && (user_ || local() || trusted())) {
      auto txn = ctx_.services.store.read();
      if (auto signatures = ctx_.dkim->signatures(txn, traced, std::time(nullptr)); !signatures.empty())
        traced = signatures + traced;
    }
    std::vector<storage::UserId> local;
    std::string sender = t.mail.sender ? t.mail.sender->to_string() : "";
    // One queue entry per envelope sender: forwarded mail may leave with an SRS one.
    std::vector<std::pair<std::string, std::vector<storage::QueuedRecipient>>> outgoing;
    std::size_t remote = 0;
    for (const auto& r : recipients) {
      for (auto id : r.users)
        if (std::find(local.begin(), local.end(), id) == local.end()) local.push_back(id);
      if (r.remote.empty()) continue;
      auto via = envelope_sender(r, sender);
      auto group = std::find_if(outgoing.begin(), outgoing.end(), [&](const auto& g) { return g.first == via; });
      if (group == outgoing.end()) group = outgoing.insert(outgoing.end(), {via, {}});
      for (const auto& address : r.remote)
        group->second.push_back({address, storage::RecipientState::pending, 0, 0, "", r.rcpt.orcpt, r.rcpt.notify});
      remote += r.remote.size();
    }
    // Parsed here, not under the store's single writer (storage/messages.hpp).
    std::optional<storage::PreparedMessage> local_copy;
    if (!local.empty()) {
      local_copy = storage::prepare_message(fmt::format("Return-Path: <{}>\r\n", sender) + traced, cfg_.limits.message);
      if (local_copy->stats().summarised)
        log::info(talk_.id(), "structure_summarised", "parts={} structure_size={}", local_copy->stats().parts,
                  local_copy->stats().structure_size);
    }
    std::optional<storage::Errc> refused;  // a recipient's delivery failed: all or nothing
    std::int64_t limit_reopens = 0;
    storage::SendLimits limits{cfg_.smtpd.max_messages_per_hour, cfg_.smtpd.max_messages_per_day,
                               cfg_.smtpd.max_recipients_per_hour, cfg_.smtpd.max_recipients_per_day,
                               cfg_.smtpd.max_hold.count()};
    const auto greylist_policy = session::greylist_policy(cfg_.greylist);
    storage::GroupCommitter::Work work = [&](storage::WriteTxn& txn) {
      refused.reset();
      limit_reopens = 0;
      if (!t.greylist.empty()) storage::greylist_passed(txn, t.greylist, std::time(nullptr), greylist_policy);
      if (!local.empty()) {
        for (auto& o : storage::deliver_message(txn, *local_copy, local, 0, into)) {
          if (o.result) continue;
          refused = o.result.error().code;
          throw session::Refused(o.result.error().detail);  // all or nothing
        }
      }
      if (remote > 0) {
        std::int64_t not_before = 0;
        if (user_) {  // what leaves for other domains counts against the user's sending limits
          auto sent =
              storage::count_sent_message(txn, user_->id, std::time(nullptr), static_cast<std::uint32_t>(remote),
                                          limits, cfg_.smtpd.hold_over_limit);
          if (sent.refused) {
            limit_reopens = sent.reopens_at;
            throw session::Refused("sending limit");  // all or nothing
          }
          not_before = sent.not_before;
        }
        for (const auto& [via, group] : outgoing) {
          storage::NewQueueEntry entry{via,       group, user_ ? user_->id : 0, t.mail.envid, t.mail.ret == Ret::full,
                                       not_before};
          auto queued = storage::enqueue(txn, traced, entry);
          if (!queued) throw session::Refused(queued.error().detail);
        }
      }
    };
    auto written = co_await talk_.commit("delivery", std::move(work));
    if (!written) {
      if (refused == storage::Errc::over_quota)  // counted: a client that retries at once is told again
        co_return error(reply(status_of(*refused), "Mailbox full, try again later"));
      if (limit_reopens) {
        log::info(talk_.id(), "sending_limit", "user={}", log::quoted(user_->address));
        const auto& s = cfg_.smtpd;
        answer(reply(status::kSendingLimit,
                     fmt::format("Sending limit reached ({} messages or {} recipients an hour, {} or {} a day); try "
                                 "again after {}",
                                 s.max_messages_per_hour, s.max_recipients_per_hour, s.max_messages_per_day,
                                 s.max_recipients_per_day, rfc5322_date(static_cast<std::time_t>(limit_reopens)))));
        co_return true;
      }
      if (written.failure == storage::Errc::no_space) {
        answer(reply(status_of(*written.failure), "Insufficient system storage, try again later"));
        co_return true;
      }
      answer(reply(status_of(refused.value_or(storage::Errc::io_error)),
                   "Temporary failure storing the message, try again later"));
      co_return true;
    }
    if (remote > 0 && ctx_.queued) ctx_.queued();
    log::info(talk_.id(), "accepted", "from={} local={} remote={} size={}", log::quoted(sender, 300), local.size(),
              remote, traced.size());
    junk_ = 0;
    answer(reply(status::kOk, fmt::format("OK, queued as {}", talk_.id())));
    co_return true;
  }

  session::Conversation talk_;
  const SmtpContext& ctx_;
  const config::Config& cfg_;
  Port port_;
  session::StateMachine<Connected, Greeted, InTransaction> state_;
  std::optional<storage::User> user_;  // after AUTH; kept across transactions
  std::optional<IprevCheck> iprev_;    // port 25 from outside: the client's reverse DNS, checked forward
  std::optional<Milters> milters_;     // the session's content filters, when it is filtered
  int dns_list_score_ = 0;             // below 0: the client is on a DNS allow list
  std::vector<std::pair<std::string, SpfCheck>> spf_checked_;  // sender and HELO -> result, this session
  unsigned junk_ = 0;                                          // junk commands since the last accepted message
};

}  // namespace

net::awaitable<void> serve_smtp(net::Connection& connection, const SmtpContext& context, Port port) {
  Session session(connection, context, port);
  co_await session.run();
  co_await session.finish();
}

}  // namespace mailstead::smtp
