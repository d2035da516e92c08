// mailstead-pop3d's session: one coroutine per connection.
//
// Implementation notes
// - States (RFC 1939 §3) are a StateMachine: Authorization (with the name USER gave) until a
//   login succeeds and the maildrop is locked, then Transaction (the maildrop); QUIT there
//   enters Update, which applies the deletions and the \Seen marks of retrieved messages in
//   one write transaction, made durable before "+OK" is sent. A connection that drops, times
//   out or is shut down applies nothing.
// - Commands come from the table in proto/command.cpp (name, states, parser); dispatch()
//   checks the state once and visits the command, one handler per command.
// - The maildrop is a snapshot taken at login (proto/maildrop.hpp): message numbers and sizes
//   hold for the whole session. A message expunged meanwhile by another client (IMAP) is
//   found missing when RETR/TOP reads it, answered with -ERR, and the session goes on.
// - Responses are queued and written when no further complete command is buffered (RFC 2449
//   PIPELINING: one write for a pipelined batch), or when the queue passes kFlushAt.
// - Stored mail is CRLF throughout (common/text/line_ends.hpp), so LIST sizes are the stored
//   sizes and RETR only dot-stuffs.

#include "pop3d/session.hpp"

#include <fmt/format.h>

#include <optional>
#include <utility>

#include "common/log/log.hpp"
#include "common/overloaded.hpp"
#include "common/sasl/sasl.hpp"
#include "pop3d/proto/command.hpp"
#include "pop3d/proto/maildrop.hpp"
#include "pop3d/proto/response.hpp"
#include "session/conversation.hpp"
#include "session/state.hpp"
#include "storage/mailboxes.hpp"
#include "storage/messages.hpp"

namespace mailstead::pop3 {
namespace {

constexpr std::size_t kFlushAt = std::size_t{256} * 1024;

// The lock on a user's maildrop, released when the session lets go of it, however it ends.
class HeldMaildrop {
 public:
  HeldMaildrop(MaildropLocks& locks, storage::UserId user, bool exclusive)
      : locks_(&locks), user_(user), exclusive_(exclusive) {}
  HeldMaildrop(HeldMaildrop&& other) noexcept
      : locks_(other.locks_), user_(other.user_), exclusive_(std::exchange(other.exclusive_, false)) {}
  HeldMaildrop& operator=(HeldMaildrop&&) = delete;
  HeldMaildrop(const HeldMaildrop&) = delete;
  HeldMaildrop& operator=(const HeldMaildrop&) = delete;
  ~HeldMaildrop() {
    if (exclusive_) locks_->unlock(user_);
  }

 private:
  MaildropLocks* locks_;
  storage::UserId user_;
  bool exclusive_;
};

// RFC 1939 §3: the three states. UPDATE keeps the lock until its write is durable.
struct Authorization {
  static constexpr std::string_view kName = "authorization";
  std::optional<std::string> user;  // after USER, before PASS
};
struct Transaction {
  static constexpr std::string_view kName = "transaction";
  HeldMaildrop held;
  storage::MailboxId inbox = 0;
  Maildrop maildrop;
};
struct Update {
  static constexpr std::string_view kName = "update";
  HeldMaildrop held;
};

session::Dialect pop3_dialect(const config::Config& config) {
  return {
      .timeout = config.pop3d.idle_timeout,
      .max_errors = config.pop3d.max_errors,
      .sasl_prefix = "+ ",
      .too_many_errors = err("Too many bad commands, closing connection"),
      // Autologout (RFC 1939 §3) and shutdown never enter UPDATE: nothing is deleted.
      .timed_out = err("Autologout; idle for too long"),
      .shutting_down = err("Server shutting down, try again later", Code::sys_temp),
  };
}

class Session {
 public:
  Session(net::Connection& c, const Pop3Context& ctx)
      : talk_(c, ctx.services, pop3_dialect(ctx.services.config)),
        ctx_(ctx),
        cfg_(ctx.services.config),
        state_(c.session_id()) {}

  net::awaitable<void> run() {
    talk_.send(ok("mailstead POP3 server ready"));
    for (;;) {
      if (talk_.should_flush(kFlushAt) && !co_await talk_.flush()) co_return;
      auto result = co_await connection().read_line(cfg_.pop3d.idle_timeout);
      if (auto* closed = std::get_if<net::Closed>(&result)) co_return co_await talk_.goodbye(closed->why);
      if (std::holds_alternative<io::LineTooLong>(result)) {
        if (!talk_.error(err("Line too long"))) break;
        continue;
      }
      // A bare LF ends a command too: there is no message data in a POP3 command stream to
      // smuggle anything into, and some old clients send LF alone.
      auto command = parse_command(std::get<io::Line>(result).text);
      if (!co_await dispatch(std::move(command))) break;
    }
    co_await talk_.flush();
  }

 private:
  net::Connection& connection() const { return talk_.connection(); }
  bool login_allowed() const { return connection().is_tls() || cfg_.pop3d.allow_plaintext_auth; }
  Maildrop& maildrop() { return state_.as<Transaction>().maildrop; }

  // False: the session ends. A handler that throws is answered -ERR and the session goes on.
  net::awaitable<bool> dispatch(Command command) {
    if (auto* e = std::get_if<SyntaxError>(&command)) co_return talk_.error(err(e->text));
    bool in_transaction = state_.is<Transaction>();
    if (!allowed(in_transaction ? State::transaction : State::authorization, command))
      co_return talk_.error(err(in_transaction ? "Already logged in" : "Log in first"));
    std::exception_ptr failure;
    try {
      co_return co_await handle(command);
    } catch (...) {
      failure = std::current_exception();
    }
    talk_.internal_error(command_name(command), failure,
                         err(fmt::format("Internal error (reference {})", talk_.id()), Code::sys_temp));
    co_return true;
  }

  // The handler column of the command table: one per command, named after it.
  net::awaitable<bool> handle(const Command& command) {
    return std::visit(Overloaded{
                          [this](const User& c) { return on_user(c); },
                          [this](const Pass& c) { return on_pass(c); },
                          [this](const Auth& c) { return on_auth(c); },
                          [this](const Stat& c) { return on_stat(c); },
                          [this](const List& c) { return on_list(c); },
                          [this](const Uidl& c) { return on_uidl(c); },
                          [this](const Retr& c) { return on_retr(c); },
                          [this](const Top& c) { return on_top(c); },
                          [this](const Dele& c) { return on_dele(c); },
                          [this](const Noop& c) { return on_noop(c); },
                          [this](const Rset& c) { return on_rset(c); },
                          [this](const Quit& c) { return on_quit(c); },
                          [this](const Capa& c) { return on_capa(c); },
                          [this](const Stls& c) { return on_stls(c); },
                          [this](const SyntaxError& c) { return on_syntax_error(c); },
                      },
                      command);
  }

  net::awaitable<bool> on_syntax_error(const SyntaxError& e) { co_return talk_.error(err(e.text)); }

  // --- any state --------------------------------------------------------------------------

  // RFC 2449 §5.
  net::awaitable<bool> on_capa(const Capa&) {
    talk_.send(ok("Capability list follows"));
    talk_.send("TOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n");
    if (state_.is<Authorization>()) {
      if (login_allowed()) talk_.send("USER\r\nSASL PLAIN LOGIN\r\n");
      if (!connection().is_tls()) talk_.send("STLS\r\n");
    }
    talk_.send("IMPLEMENTATION mailstead\r\n.\r\n");
    co_return true;
  }

  // RFC 1939 §6: QUIT in TRANSACTION enters UPDATE; in AUTHORIZATION it only ends (§4).
  net::awaitable<bool> on_quit(const Quit&) {
    auto* transaction = state_.get_if<Transaction>();
    if (!transaction) {
      talk_.send(ok("Bye"));
      co_return false;
    }
    auto deleted = transaction->maildrop.deleted_uids();
    auto seen = transaction->maildrop.retrieved_uids();
    auto mailbox = transaction->inbox;
    if (deleted.empty() && seen.empty()) {
      talk_.send(ok("Bye"));
      co_return false;
    }
    auto held = std::move(transaction->held);
    state_.enter<Update>(std::move(held));
    std::size_t removed = 0;
    storage::GroupCommitter::Work work = [&](storage::WriteTxn& txn) {
      removed = storage::expunge_messages(txn, mailbox, deleted).size();
      for (auto uid : seen)  // one expunged meanwhile is simply not there any more
        (void)storage::store_flags(txn, mailbox, uid, storage::FlagOperation::add, storage::kSeen, {});
    };
    if (!co_await talk_.commit("QUIT", std::move(work))) {
      talk_.refuse(err("Could not remove the deleted messages; they are still there", Code::sys_temp));
      co_return false;
    }
    log::info(talk_.id(), "update", "deleted={} seen={}", removed, seen.size());
    talk_.send(ok(fmt::format("Bye, {} messages deleted", deleted.size())));
    co_return false;
  }

  // --- AUTHORIZATION ----------------------------------------------------------------------

  // RFC 1939 §7 (USER/PASS), refused before TLS unless pop3d.allow_plaintext_auth.
  net::awaitable<bool> on_user(const User& user) {
    if (!login_allowed())
      co_return talk_.error(err("Plaintext login is not allowed without TLS; use STLS first", Code::auth));
    state_.as<Authorization>().user = user.name;
    talk_.send(ok("Send PASS"));
    co_return true;
  }

  // RFC 1939 §7.
  net::awaitable<bool> on_pass(const Pass& pass) {
    auto& name = state_.as<Authorization>().user;
    if (!name) co_return talk_.error(err("Send USER first"));
    sasl::Credentials credentials{"", std::move(*name), Secret(pass.password)};
    name.reset();
    co_return co_await log_in(std::move(credentials));
  }

  // RFC 5034; "AUTH" alone is RFC 1734's mechanism listing, which Outlook still sends.
  net::awaitable<bool> on_auth(const Auth& auth) {
    if (auth.mechanism.empty()) {
      talk_.send(ok("Mechanisms follow"));
      talk_.send("PLAIN\r\nLOGIN\r\n.\r\n");
      co_return true;
    }
    if (!login_allowed())
      co_return talk_.error(err("Plaintext login is not allowed without TLS; use STLS first", Code::auth));
    if (!sasl::parse_mechanism(auth.mechanism)) co_return talk_.error(err("Unsupported authentication mechanism"));
    state_.as<Authorization>().user.reset();
    auto initial = auth.initial;
    auto outcome = co_await talk_.authenticate(auth.mechanism, std::move(initial));
    if (!outcome) co_return false;
    if (auto* refusal = std::get_if<session::SaslRefusal>(&*outcome))
      co_return talk_.error(
          err(*refusal == session::SaslRefusal::cancelled ? "Authentication cancelled" : "Cannot decode the response"));
    co_return co_await log_in(std::move(std::get<sasl::Credentials>(*outcome)));
  }

  net::awaitable<bool> log_in(sasl::Credentials credentials) {
    auto outcome = co_await talk_.log_in(std::move(credentials));
    if (std::holds_alternative<session::LockedOut>(outcome))
      co_return talk_.error(err("Too many failed logins from your address; try again later", Code::auth));
    if (std::holds_alternative<session::LoginFailed>(outcome))
      co_return talk_.error(err("Authentication failed", Code::auth));
    co_return open_maildrop(std::get<storage::User>(outcome));
  }

  // RFC 1939 §4: the maildrop is locked when the session enters TRANSACTION ([IN-USE], RFC
  // 2449 §8.1.1, when another session holds it).
  bool open_maildrop(const storage::User& user) {
    bool exclusive = !cfg_.pop3d.allow_concurrent_sessions;
    if (exclusive && !ctx_.locks.try_lock(user.id)) {
      log::info(talk_.id(), "maildrop_busy", "user={}", log::quoted(user.address));
      talk_.refuse(err("Maildrop is already open in another session", Code::in_use));
      return true;
    }
    HeldMaildrop held(ctx_.locks, user.id, exclusive);
    auto txn = ctx_.services.store.read();
    auto inbox = storage::find_mailbox(txn, user.id, "INBOX");
    if (!inbox) {
      log::error(talk_.id(), "maildrop_failed", "user={} error={}", log::quoted(user.address),
                 log::quoted(inbox.error().detail));
      talk_.refuse(err("Cannot open the maildrop, try again later", Code::sys_temp));
      return true;
    }
    std::vector<MaildropEntry> entries;
    entries.reserve(inbox->messages);
    storage::for_each_message(txn, inbox->id, [&](const storage::Message& m) {
      entries.push_back({m.uid, m.size, false, false});
      return true;
    });
    auto& t = state_.enter<Transaction>(std::move(held), inbox->id, Maildrop(inbox->uid_validity, std::move(entries)));
    talk_.send(
        ok(fmt::format("Logged in, {} messages ({} octets)", t.maildrop.live_messages(), t.maildrop.live_octets())));
    return true;
  }

  // RFC 2595 §4.
  net::awaitable<bool> on_stls(const Stls&) {
    if (connection().is_tls()) co_return talk_.error(err("TLS is already active"));
    auto go_ahead = ok("Begin TLS negotiation");  // named: see "Coroutine rules" in docs/ARCHITECTURE.md
    if (!co_await talk_.start_tls(go_ahead)) co_return false;
    state_.enter<Authorization>();  // forget what was said in the clear
    co_return true;
  }

  // --- TRANSACTION (RFC 1939 §5) ----------------------------------------------------------

  // The -ERR for a message number that cannot be used, or nullopt when it can.
  std::optional<std::string> refuse(std::uint32_t number) {
    switch (maildrop().lookup(number)) {
      case Lookup::ok:
        return std::nullopt;
      case Lookup::no_such_message:
        return err("No such message");
      case Lookup::deleted:
        return err(fmt::format("Message {} is deleted", number));
    }
    return err("No such message");
  }

  // RFC 1939 §5.
  net::awaitable<bool> on_stat(const Stat&) {
    talk_.send(ok(fmt::format("{} {}", maildrop().live_messages(), maildrop().live_octets())));
    co_return true;
  }

  // RFC 1939 §5.
  net::awaitable<bool> on_list(const List& list) {
    co_return listing(
        list.message, [this](std::uint32_t n) { return fmt::format("{}", maildrop().entry(n).size); },
        [this] {
          return ok(fmt::format("{} messages ({} octets)", maildrop().live_messages(), maildrop().live_octets()));
        });
  }

  // RFC 1939 §7.
  net::awaitable<bool> on_uidl(const Uidl& uidl) {
    co_return listing(
        uidl.message, [this](std::uint32_t n) { return maildrop().unique_id(n); },
        [] { return ok("Unique-ID listing follows"); });
  }

  // LIST and UIDL: one message's line, or every live message's after `heading`.
  template <class Value, class Heading>
  bool listing(std::optional<std::uint32_t> number, const Value& value, const Heading& heading) {
    if (number) {
      if (auto refusal = refuse(*number)) return talk_.error(*refusal);
      talk_.send(ok(fmt::format("{} {}", *number, value(*number))));
      return true;
    }
    auto& out = talk_.out();
    out += heading();
    for (std::uint32_t n = 1; n <= maildrop().count(); ++n) {
      if (maildrop().lookup(n) != Lookup::ok) continue;
      fmt::format_to(std::back_inserter(out), "{} {}\r\n", n, value(n));
    }
    out += ".\r\n";
    return true;
  }

  // RFC 1939 §5: retrieving marks the message \Seen at UPDATE.
  net::awaitable<bool> on_retr(const Retr& retr) { co_return retrieve(retr.message, std::nullopt); }

  // RFC 1939 §7.
  net::awaitable<bool> on_top(const Top& top) { co_return retrieve(top.message, top.lines); }

  // RETR (lines == nullopt) and TOP.
  bool retrieve(std::uint32_t number, std::optional<std::uint64_t> lines) {
    if (auto refusal = refuse(number)) return talk_.error(*refusal);
    auto& t = state_.as<Transaction>();
    auto txn = ctx_.services.store.read();
    auto message = storage::find_message(txn, t.inbox, t.maildrop.entry(number).uid);
    auto bytes = message ? storage::read_blob(txn, message->blob) : std::nullopt;
    if (!bytes) {
      talk_.refuse(err(fmt::format("Message {} was removed by another client", number)));
      return true;
    }
    if (lines) {
      talk_.send(ok("Top of message follows"));
      append_top(talk_.out(), *bytes, *lines);
    } else {
      talk_.send(ok(fmt::format("{} octets", bytes->size())));
      append_message(talk_.out(), *bytes);
      t.maildrop.mark_retrieved(number);
    }
    return true;
  }

  // RFC 1939 §5: deleted at UPDATE only.
  net::awaitable<bool> on_dele(const Dele& dele) {
    if (auto refusal = refuse(dele.message)) co_return talk_.error(*refusal);
    maildrop().mark_deleted(dele.message);
    talk_.send(ok(fmt::format("Message {} deleted", dele.message)));
    co_return true;
  }

  // RFC 1939 §5.
  net::awaitable<bool> on_noop(const Noop&) {
    talk_.send(ok(""));
    co_return true;
  }

  // RFC 1939 §5.
  net::awaitable<bool> on_rset(const Rset&) {
    maildrop().reset();
    talk_.send(
        ok(fmt::format("Maildrop has {} messages ({} octets)", maildrop().live_messages(), maildrop().live_octets())));
    co_return true;
  }

  session::Conversation talk_;
  const Pop3Context& ctx_;
  const config::Config& cfg_;
  session::StateMachine<Authorization, Transaction, Update> state_;
};

}  // namespace

net::awaitable<void> serve_pop3(net::Connection& connection, const Pop3Context& context) {
  Session session(connection, context);
  co_await session.run();
}

}  // namespace mailstead::pop3
