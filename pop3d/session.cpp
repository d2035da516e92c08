// mailstead-pop3d's session: one coroutine per connection.
//
// Implementation notes
// - States (RFC 1939 §3): AUTHORIZATION until a login succeeds and the maildrop is locked,
//   then TRANSACTION; QUIT there is UPDATE. Deletions and the \Seen marks of retrieved
//   messages are applied in UPDATE by one write transaction, made durable before "+OK" is
//   sent; a connection that drops, times out or is shut down applies nothing.
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

#include "common/log/log.hpp"
#include "common/sasl/sasl.hpp"
#include "pop3d/proto/command.hpp"
#include "pop3d/proto/maildrop.hpp"
#include "pop3d/proto/response.hpp"
#include "pop3d/proto/states.hpp"
#include "session/commit.hpp"
#include "session/login.hpp"
#include "session/sasl_exchange.hpp"
#include "storage/mailboxes.hpp"
#include "storage/messages.hpp"

namespace mailstead::pop3 {
namespace {

constexpr std::size_t kFlushAt = 256 * 1024;

// Releases the maildrop lock when the session ends, however it ends.
class HeldMaildrop {
 public:
  HeldMaildrop(MaildropLocks& locks, storage::UserId user, bool exclusive)
      : locks_(locks), user_(user), exclusive_(exclusive) {}
  HeldMaildrop(const HeldMaildrop&) = delete;
  HeldMaildrop& operator=(const HeldMaildrop&) = delete;
  ~HeldMaildrop() {
    if (exclusive_) locks_.unlock(user_);
  }

 private:
  MaildropLocks& locks_;
  storage::UserId user_;
  bool exclusive_;
};

class Session {
 public:
  Session(net::Connection& c, const Pop3Context& ctx) : c_(c), ctx_(ctx), cfg_(ctx.services.config) {}

  net::awaitable<void> run() {
    out_ += ok("mailstead POP3 server ready");
    for (;;) {
      if ((!c_.input().has_line() || out_.size() >= kFlushAt) && !co_await flush()) co_return;
      auto result = co_await c_.read_line(cfg_.pop3d.idle_timeout);
      if (auto* closed = std::get_if<net::Closed>(&result)) co_return co_await say_goodbye(closed->why);
      if (std::holds_alternative<io::LineTooLong>(result)) {
        if (!error(err("Line too long"))) break;
        continue;
      }
      // A bare LF ends a command too: there is no message data in a POP3 command stream to
      // smuggle anything into, and some old clients send LF alone.
      auto command = parse_command(std::get<io::Line>(result).text);
      if (!co_await dispatch(std::move(command))) break;
    }
    co_await flush();
  }

 private:
  // --- output -----------------------------------------------------------------------------

  // A client error: counted; false when the client has made too many and must go.
  bool error(std::string response) {
    out_ += response;
    log::info(c_.session_id(), "reply", "text={}",
              log::quoted(std::string_view(response).substr(0, response.size() - 2)));
    if (++errors_ < cfg_.pop3d.max_errors) return true;
    out_ += err("Too many bad commands, closing connection");
    return false;
  }

  net::awaitable<bool> flush() {
    if (out_.empty()) co_return true;
    auto data = std::move(out_);
    out_.clear();
    co_return co_await c_.write(data, cfg_.pop3d.idle_timeout);
  }

  net::awaitable<void> say_goodbye(net::ReadStatus why) {
    // Autologout (RFC 1939 §3) and shutdown never enter UPDATE: nothing is deleted.
    if (why == net::ReadStatus::timed_out) out_ += err("Autologout; idle for too long");
    if (why == net::ReadStatus::shutdown) out_ += err("Server shutting down, try again later", Code::sys_temp);
    co_await flush();
  }

  bool in_transaction() const { return maildrop_.has_value(); }
  bool login_allowed() const { return c_.is_tls() || cfg_.pop3d.allow_plaintext_auth; }

  // --- dispatch ---------------------------------------------------------------------------

  net::awaitable<bool> dispatch(Command command) {
    if (auto* e = std::get_if<SyntaxError>(&command)) co_return error(err(e->text));
    if (!allowed(in_transaction() ? State::transaction : State::authorization, command))
      co_return error(err(in_transaction() ? "Already logged in" : "Log in first"));
    if (std::holds_alternative<Capa>(command)) co_return on_capa();
    if (std::holds_alternative<Quit>(command)) co_return co_await on_quit();
    if (auto* x = std::get_if<User>(&command)) co_return on_user(*x);
    if (auto* x = std::get_if<Pass>(&command)) co_return co_await on_pass(*x);
    if (auto* x = std::get_if<Auth>(&command)) co_return co_await on_auth(*x);
    if (std::holds_alternative<Stls>(command)) co_return co_await on_stls();
    if (std::holds_alternative<Stat>(command)) {
      out_ += ok(fmt::format("{} {}", maildrop_->live_messages(), maildrop_->live_octets()));
      co_return true;
    }
    if (auto* x = std::get_if<List>(&command)) co_return on_listing(x->message, false);
    if (auto* x = std::get_if<Uidl>(&command)) co_return on_listing(x->message, true);
    if (auto* x = std::get_if<Retr>(&command)) co_return on_retrieve(x->message, std::nullopt);
    if (auto* x = std::get_if<Top>(&command)) co_return on_retrieve(x->message, x->lines);
    if (auto* x = std::get_if<Dele>(&command)) co_return on_dele(*x);
    if (std::holds_alternative<Noop>(command)) {
      out_ += ok("");
      co_return true;
    }
    maildrop_->reset();  // RSET, the last command there is
    out_ +=
        ok(fmt::format("Maildrop has {} messages ({} octets)", maildrop_->live_messages(), maildrop_->live_octets()));
    co_return true;
  }

  // --- AUTHORIZATION ----------------------------------------------------------------------

  bool on_capa() {
    out_ += ok("Capability list follows");
    out_ += "TOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n";
    if (!in_transaction()) {
      if (login_allowed()) out_ += "USER\r\nSASL PLAIN LOGIN\r\n";
      if (!c_.is_tls()) out_ += "STLS\r\n";
    }
    out_ += "IMPLEMENTATION mailstead\r\n.\r\n";
    return true;
  }

  bool on_user(const User& user) {
    if (!login_allowed()) return error(err("Plaintext login is not allowed without TLS; use STLS first", Code::auth));
    pending_user_ = user.name;
    out_ += ok("Send PASS");
    return true;
  }

  net::awaitable<bool> on_pass(const Pass& pass) {
    if (!pending_user_) co_return error(err("Send USER first"));
    sasl::Credentials credentials{"", std::move(*pending_user_), Secret(pass.password)};
    pending_user_.reset();
    co_return co_await log_in(std::move(credentials));
  }

  net::awaitable<bool> on_auth(const Auth& auth) {
    if (auth.mechanism.empty()) {  // RFC 1734's listing, which Outlook still sends
      out_ += ok("Mechanisms follow");
      out_ += "PLAIN\r\nLOGIN\r\n.\r\n";
      co_return true;
    }
    if (!login_allowed())
      co_return error(err("Plaintext login is not allowed without TLS; use STLS first", Code::auth));
    auto mechanism = sasl::parse_mechanism(auth.mechanism);
    if (!mechanism) co_return error(err("Unsupported authentication mechanism"));
    pending_user_.reset();
    auto outcome = co_await session::run_sasl(c_, *mechanism, auth.initial, "+ ", cfg_.pop3d.idle_timeout, out_);
    if (!outcome) co_return false;
    if (auto* failed = std::get_if<sasl::Failed>(&*outcome)) {
      if (failed->reason == sasl::Failure::cancelled) co_return error(err("Authentication cancelled"));
      co_return error(err("Cannot decode the response"));
    }
    co_return co_await log_in(std::move(std::get<sasl::Success>(*outcome).credentials));
  }

  net::awaitable<bool> log_in(sasl::Credentials credentials) {
    if (session::locked_out(ctx_.services, c_))
      co_return error(err("Too many failed logins from your address; try again later", Code::auth));
    auto user = co_await session::log_in(ctx_.services, c_, std::move(credentials));
    if (!user) co_return error(err("Authentication failed", Code::auth));
    bool exclusive = !cfg_.pop3d.allow_concurrent_sessions;
    if (exclusive && !ctx_.locks.try_lock(user->id)) {
      log::info(c_.session_id(), "maildrop_busy", "user={}", log::quoted(user->address));
      out_ += err("Maildrop is already open in another session", Code::in_use);
      co_return true;
    }
    held_.emplace(ctx_.locks, user->id, exclusive);
    if (!open_maildrop(*user)) {
      held_.reset();
      out_ += err("Cannot open the maildrop, try again later", Code::sys_temp);
      co_return true;
    }
    out_ += ok(fmt::format("Logged in, {} messages ({} octets)", maildrop_->live_messages(), maildrop_->live_octets()));
    co_return true;
  }

  bool open_maildrop(const storage::User& user) {
    auto txn = ctx_.services.store.read();
    auto inbox = storage::find_mailbox(txn, user.id, "INBOX");
    if (!inbox) {
      log::error(c_.session_id(), "maildrop_failed", "user={} error={}", log::quoted(user.address),
                 log::quoted(inbox.error().detail));
      return false;
    }
    std::vector<MaildropEntry> entries;
    entries.reserve(inbox->messages);
    storage::for_each_message(txn, inbox->id, [&](const storage::Message& m) {
      entries.push_back({m.uid, m.size, false, false});
      return true;
    });
    inbox_ = inbox->id;
    maildrop_.emplace(inbox->uid_validity, std::move(entries));
    return true;
  }

  net::awaitable<bool> on_stls() {
    if (c_.is_tls()) co_return error(err("TLS is already active"));
    out_ += ok("Begin TLS negotiation");
    if (!co_await flush()) co_return false;
    if (auto ec = co_await c_.start_tls(cfg_.limits.tls_handshake_timeout)) {
      log::info(c_.session_id(), "tls_failed", "error={}", log::quoted(ec.message()));
      co_return false;
    }
    log::info(c_.session_id(), "tls", "cipher={}", log::quoted(c_.tls_description()));
    pending_user_.reset();  // RFC 2595 §4: forget what was said in the clear
    co_return true;
  }

  // --- TRANSACTION ------------------------------------------------------------------------

  // The -ERR for a message number that cannot be used, or nullopt when it can.
  std::optional<std::string> refuse(std::uint32_t number) const {
    switch (maildrop_->lookup(number)) {
      case Lookup::ok:
        return std::nullopt;
      case Lookup::no_such_message:
        return err("No such message");
      case Lookup::deleted:
        return err(fmt::format("Message {} is deleted", number));
    }
    return err("No such message");
  }

  bool on_listing(std::optional<std::uint32_t> number, bool unique_ids) {
    auto value = [&](std::uint32_t n) {
      return unique_ids ? maildrop_->unique_id(n) : fmt::format("{}", maildrop_->entry(n).size);
    };
    if (number) {
      if (auto refusal = refuse(*number)) return error(std::move(*refusal));
      out_ += ok(fmt::format("{} {}", *number, value(*number)));
      return true;
    }
    out_ += unique_ids
                ? ok("Unique-ID listing follows")
                : ok(fmt::format("{} messages ({} octets)", maildrop_->live_messages(), maildrop_->live_octets()));
    for (std::uint32_t n = 1; n <= maildrop_->count(); ++n) {
      if (maildrop_->lookup(n) != Lookup::ok) continue;
      fmt::format_to(std::back_inserter(out_), "{} {}\r\n", n, value(n));
    }
    out_ += ".\r\n";
    return true;
  }

  // RETR (lines == nullopt) and TOP.
  bool on_retrieve(std::uint32_t number, std::optional<std::uint64_t> lines) {
    if (auto refusal = refuse(number)) return error(std::move(*refusal));
    const auto& entry = maildrop_->entry(number);
    auto txn = ctx_.services.store.read();
    auto message = storage::find_message(txn, inbox_, entry.uid);
    auto bytes = message ? storage::read_blob(txn, message->blob) : std::nullopt;
    if (!bytes) {
      out_ += err(fmt::format("Message {} was removed by another client", number));
      return true;
    }
    if (lines) {
      out_ += ok("Top of message follows");
      append_top(out_, *bytes, *lines);
    } else {
      out_ += ok(fmt::format("{} octets", bytes->size()));
      append_message(out_, *bytes);
      maildrop_->mark_retrieved(number);
    }
    return true;
  }

  bool on_dele(const Dele& dele) {
    if (auto refusal = refuse(dele.message)) return error(std::move(*refusal));
    maildrop_->mark_deleted(dele.message);
    out_ += ok(fmt::format("Message {} deleted", dele.message));
    return true;
  }

  // --- UPDATE -----------------------------------------------------------------------------

  net::awaitable<bool> on_quit() {
    if (!in_transaction()) {
      out_ += ok("Bye");
      co_return false;
    }
    auto deleted = maildrop_->deleted_uids();
    auto seen = maildrop_->retrieved_uids();
    if (deleted.empty() && seen.empty()) {
      out_ += ok("Bye");
      co_return false;
    }
    std::size_t removed = 0;
    auto mailbox = inbox_;
    storage::GroupCommitter::Work work = [&](storage::WriteTxn& txn) {
      removed = storage::expunge_messages(txn, mailbox, deleted).size();
      for (auto uid : seen)  // one expunged meanwhile is simply not there any more
        (void)storage::store_flags(txn, mailbox, uid, storage::FlagOperation::add, storage::kSeen, {});
    };
    auto outcome = co_await session::commit(ctx_.services.committer, std::move(work));
    if (outcome.error) {
      try {
        std::rethrow_exception(outcome.error);
      } catch (const std::exception& e) {
        log::error(c_.session_id(), "update_failed", "error={}", log::quoted(e.what()));
      }
      out_ += err("Could not remove the deleted messages; they are still there", Code::sys_temp);
      co_return false;
    }
    log::info(c_.session_id(), "update", "deleted={} seen={}", removed, seen.size());
    out_ += ok(fmt::format("Bye, {} messages deleted", deleted.size()));
    co_return false;
  }

  net::Connection& c_;
  const Pop3Context& ctx_;
  const config::Config& cfg_;
  std::string out_;
  std::optional<std::string> pending_user_;  // after USER, before PASS
  std::optional<HeldMaildrop> held_;
  std::optional<Maildrop> maildrop_;  // set: TRANSACTION state
  storage::MailboxId inbox_ = 0;
  unsigned errors_ = 0;
};

}  // namespace

net::awaitable<void> serve_pop3(net::Connection& connection, const Pop3Context& context) {
  Session session(connection, context);
  co_await session.run();
}

}  // namespace mailstead::pop3
