// mailstead-imapd's session: the command loop, dispatch, the commands of any state and of
// login, and IDLE. See session_impl.hpp.

#include <fmt/format.h>

#include "common/log/log.hpp"
#include "common/overloaded.hpp"
#include "common/text/ascii.hpp"
#include "imapd/proto/command_reader.hpp"
#include "imapd/session_impl.hpp"

namespace mailstead::imap {

namespace asio = net::asio;

namespace {

session::Dialect imap_dialect(const config::Config& config) {
  return {
      .timeout = config.imapd.idle_timeout,
      .max_errors = config.imapd.max_errors,
      .sasl_prefix = "+ ",
      .too_many_errors = "* BYE Too many bad commands\r\n",
      .timed_out = "* BYE Autologout; idle for too long\r\n",
      .shutting_down = "* BYE Server shutting down\r\n",
  };
}

constexpr std::string_view kMailboxDeleted = "* BYE Selected mailbox was deleted, have to disconnect\r\n";

}  // namespace

Session::Session(net::Connection& c, const ImapContext& ctx)
    : talk_(c, ctx.services, imap_dialect(ctx.services.config)),
      ctx_(ctx),
      cfg_(ctx.services.config),
      state_(c.session_id()),
      bell_(std::make_shared<Doorbell>(c.get_executor())) {}

Session::~Session() {
  ctx_.watcher.unwatch(bell_.get());
}

const storage::User& Session::account() const {
  if (const auto* s = state_.get_if<Selected>()) return s->user;
  return state_.get_if<Authenticated>()->user;  // callers are past login (the command table)
}

SelectedMailbox* Session::selected() {
  auto* s = state_.get_if<Selected>();
  return s ? &s->box : nullptr;
}

std::string Session::capabilities() const {
  std::string caps = "IMAP4rev1 IMAP4rev2";
  if (!connection().is_tls()) caps += " STARTTLS";
  if (state_.is<NotAuthenticated>()) {
    if (login_allowed())
      caps += " AUTH=PLAIN AUTH=LOGIN";
    else
      caps += " LOGINDISABLED";
  }
  caps +=
      " SASL-IR LITERAL+ ID ENABLE IDLE NAMESPACE UNSELECT UIDPLUS MOVE CHILDREN LIST-EXTENDED LIST-STATUS"
      " SPECIAL-USE CREATE-SPECIAL-USE ESEARCH SEARCHRES STATUS=SIZE BINARY UTF8=ACCEPT CONDSTORE QRESYNC MULTIAPPEND"
      " QUOTA QUOTA=RES-STORAGE QUOTA=RES-MESSAGE";
  fmt::format_to(std::back_inserter(caps), " APPENDLIMIT={}", cfg_.imapd.max_message_size);
  return caps;
}

net::awaitable<void> Session::run() {
  talk_.send(fmt::format("* OK [CAPABILITY {}] mailstead IMAP server ready\r\n", capabilities()));
  for (;;) {
    if (talk_.should_flush(kFlushAt) && !co_await talk_.flush()) co_return;
    auto command = co_await read_command();
    if (!command) break;
    if (command->empty()) continue;  // refused while it was read; the answer is queued
    auto parsed = parse_command(*command);
    if (auto* e = std::get_if<ParseError>(&parsed)) {
      if (!bad(e->tag, e->text)) break;
      continue;
    }
    if (!co_await dispatch(std::move(std::get<Command>(parsed)))) break;
    if (mailbox_deleted_) {
      talk_.send(kMailboxDeleted);
      break;
    }
  }
  co_await talk_.flush();
}

// One whole command: its lines and literals, CRLFs included. nullopt: the connection ends
// (what to say is queued); empty: the command was refused while reading (answer queued).
net::awaitable<std::optional<std::string>> Session::read_command() {
  std::string command;
  // Every literal of one command together, so that a MULTIAPPEND cannot make the command,
  // which is held whole, grow past the limit of one message.
  const std::uint64_t max_literal = cfg_.imapd.max_message_size;
  std::uint64_t literals = 0;
  for (;;) {
    auto result = co_await connection().read_line(cfg_.imapd.idle_timeout);
    if (auto* closed = std::get_if<net::Closed>(&result)) {
      co_await talk_.goodbye(closed->why);
      co_return std::nullopt;
    }
    if (std::holds_alternative<io::LineTooLong>(result)) {
      // The rest of the line is dropped unread; a literal it announced may follow, which we
      // cannot tell from command text, so the client is told and the connection goes on.
      if (!bad(command.empty() ? std::string() : std::string(peek_tag(command)), "Line too long"))
        co_return std::nullopt;
      co_return std::string();
    }
    auto line = std::get<io::Line>(result).text;
    if (command.size() + line.size() > 16 * max_literal / 1024 + 1024 * 1024) {
      bad(std::string(peek_tag(command)), "Command too long");
      co_return std::nullopt;
    }
    command += line;
    command += "\r\n";
    auto literal = trailing_literal(line);
    if (!literal) co_return command;
    if (literals + literal->size > max_literal) {
      auto tag = std::string(peek_tag(command));
      auto what = literals == 0 ? fmt::format("Literal of {} octets is", literal->size)
                                : fmt::format("Literals of {} octets in one command are", literals + literal->size);
      if (!literal->synchronizing) {
        // The client is sending it anyway; there is no way to stay in step without reading it.
        talk_.refuse(fmt::format("* BYE {} over the limit of {}\r\n", what, max_literal));
        co_await talk_.flush();
        co_return std::nullopt;
      }
      talk_.refuse(
          fmt::format("{} NO [TOOBIG] {} over the limit of {}\r\n", tag.empty() ? "*" : tag, what, max_literal));
      co_return std::string();
    }
    literals += literal->size;
    if (literal->synchronizing) {
      talk_.send("+ Ready for literal data\r\n");
      if (!co_await talk_.flush()) co_return std::nullopt;
    }
    std::uint64_t remaining = literal->size;
    command.reserve(command.size() + remaining + 256);
    while (remaining > 0) {
      auto buffered = connection().input().buffered();
      if (buffered.empty()) {
        auto status = co_await connection().receive_more(cfg_.imapd.idle_timeout);
        if (status != net::ReadStatus::ok) co_return std::nullopt;
        continue;
      }
      auto n = std::min<std::uint64_t>(remaining, buffered.size());
      command.append(buffered.data(), n);
      connection().input().consume(n);
      remaining -= n;
    }
  }
}

void Session::tagged(const Command& command, std::string_view status, std::string_view text) {
  auto line = fmt::format("{} {} {}\r\n", command.tag, status, text);
  if (status == "OK")
    talk_.send(line);
  else
    talk_.refuse(line);
}

bool Session::bad(const std::string& tag, std::string_view text) {
  return talk_.error(fmt::format("{} BAD {}\r\n", tag.empty() ? "*" : tag, text));
}

// --- dispatch ---------------------------------------------------------------------------------

// False: the session ends. A handler that throws is answered NO [SERVERBUG] and the session
// goes on.
net::awaitable<bool> Session::dispatch(Command command) {
  auto state = state_.is<NotAuthenticated>() ? State::not_authenticated
               : state_.is<Authenticated>()  ? State::authenticated
                                             : State::selected;
  if (!allowed(state, command.arguments)) {
    // Refused before login: anything but the login commands. After login: those (again), or
    // a command that needs a selected mailbox.
    co_return bad(command.tag, state == State::not_authenticated      ? "Log in first"
                               : before_login_only(command.arguments) ? "Already logged in"
                                                                      : "Select a mailbox first");
  }
  std::exception_ptr failure;
  try {
    co_return co_await handle(command);
  } catch (...) {
    failure = std::current_exception();
  }
  talk_.internal_error(command.name, failure,
                       fmt::format("{} NO [SERVERBUG] Internal error (reference {})\r\n", command.tag, talk_.id()));
  co_return true;
}

// The handler column of the command table: one per command, named after it. Handlers that
// never wait return their answer at once; finished() hands it on as an awaitable.
net::awaitable<bool> Session::handle(const Command& command) {
  const Command& c = command;
  return std::visit(Overloaded{
                        [&](const Capability& x) { return finished(on_capability(c, x)); },
                        [&](const Noop& x) { return finished(on_noop(c, x)); },
                        [&](const Logout& x) { return finished(on_logout(c, x)); },
                        [&](const StartTls& x) { return on_starttls(c, x); },
                        [&](const Authenticate& x) { return on_authenticate(c, x); },
                        [&](const Login& x) { return on_login(c, x); },
                        [&](const Enable& x) { return finished(on_enable(c, x)); },
                        [&](const Select& x) { return on_select(c, x); },
                        [&](const Examine& x) { return on_examine(c, x); },
                        [&](const Create& x) { return on_create(c, x); },
                        [&](const Delete& x) { return on_delete(c, x); },
                        [&](const Rename& x) { return on_rename(c, x); },
                        [&](const Subscribe& x) { return on_subscribe(c, x); },
                        [&](const Unsubscribe& x) { return on_unsubscribe(c, x); },
                        [&](const List& x) { return finished(on_list(c, x)); },
                        [&](const Lsub& x) { return finished(on_lsub(c, x)); },
                        [&](const Namespace& x) { return finished(on_namespace(c, x)); },
                        [&](const Status& x) { return finished(on_status(c, x)); },
                        [&](const Append& x) { return on_append(c, x); },
                        [&](const Idle& x) { return on_idle(c, x); },
                        [&](const Check& x) { return finished(on_check(c, x)); },
                        [&](const Close& x) { return on_close(c, x); },
                        [&](const Unselect& x) { return finished(on_unselect(c, x)); },
                        [&](const Expunge& x) { return on_expunge(c, x); },
                        [&](const Search& x) { return finished(on_search(c, x)); },
                        [&](const Fetch& x) { return on_fetch(c, x); },
                        [&](const Store& x) { return on_store(c, x); },
                        [&](const Copy& x) { return on_copy(c, x); },
                        [&](const Move& x) { return on_move(c, x); },
                        [&](const Id& x) { return finished(on_id(c, x)); },
                        [&](const GetQuota& x) { return finished(on_getquota(c, x)); },
                        [&](const GetQuotaRoot& x) { return finished(on_getquotaroot(c, x)); },
                        [&](const SetQuota& x) { return finished(on_setquota(c, x)); },
                    },
                    command.arguments);
}

net::awaitable<bool> Session::commit(const char* what, storage::GroupCommitter::Work work) {
  co_return co_await talk_.commit(what, std::move(work));
}

// --- any state (RFC 9051 §6.1) ------------------------------------------------------------------

// RFC 9051 §6.1.1.
bool Session::on_capability(const Command& command, const Capability&) {
  talk_.send(fmt::format("* CAPABILITY {}\r\n", capabilities()));
  tagged(command, "OK", "CAPABILITY completed");
  return true;
}

// RFC 9051 §6.1.2: also how a client polls for updates.
bool Session::on_noop(const Command& command, const Noop&) {
  if (selected()) {
    sync_changes();
    report_updates(true);
  }
  tagged(command, "OK", fmt::format("{} completed", command.name));
  return true;
}

// RFC 9051 §6.1.3.
bool Session::on_logout(const Command& command, const Logout&) {
  talk_.send("* BYE Logging out\r\n");
  tagged(command, "OK", "LOGOUT completed");
  return false;
}

// RFC 2971: the client's fields are logged; ours name the server.
bool Session::on_id(const Command& command, const Id& id) {
  std::string fields;
  for (const auto& [name, value] : id.fields) fields += fmt::format(" {}={}", name, log::quoted(value));
  log::info(talk_.id(), "client_id", "{}", fields);
  talk_.send("* ID (\"name\" \"mailstead\")\r\n");
  tagged(command, "OK", "ID completed");
  return true;
}

// RFC 5161 (after login: the command table).
bool Session::on_enable(const Command& command, const Enable& enable) {
  std::string names;
  for (const auto& capability : enable.capabilities) {
    if (capability == "UTF8=ACCEPT" && !enabled_.utf8) {
      enabled_.utf8 = true;
      names += " UTF8=ACCEPT";
    } else if (capability == "CONDSTORE" && !enabled_.condstore) {
      enabled_.condstore = true;
      names += " CONDSTORE";
    } else if (capability == "QRESYNC" && !enabled_.qresync) {
      enabled_.qresync = enabled_.condstore = true;  // QRESYNC implies CONDSTORE (RFC 7162 §3.2.3)
      names += " QRESYNC";
    } else if (capability == "IMAP4REV2" && !enabled_.imap4rev2) {
      enabled_.imap4rev2 = true;
      names += " IMAP4rev2";
    }
  }
  talk_.send(fmt::format("* ENABLED{}\r\n", names));
  tagged(command, "OK", "ENABLE completed");
  return true;
}

// --- not authenticated (RFC 9051 §6.2) ----------------------------------------------------------

// RFC 9051 §6.2.1.
net::awaitable<bool> Session::on_starttls(const Command& command, const StartTls&) {
  if (connection().is_tls()) co_return bad(command.tag, "TLS is already active");
  auto go_ahead = fmt::format("{} OK Begin TLS negotiation now\r\n", command.tag);  // named: "Coroutine rules"
  co_return co_await talk_.start_tls(go_ahead);
}

// RFC 9051 §6.2.3: refused before TLS unless imapd.allow_plaintext_auth (LOGINDISABLED).
net::awaitable<bool> Session::on_login(const Command& command, const Login& login) {
  if (!login_allowed()) {
    tagged(command, "NO", "[PRIVACYREQUIRED] Use STARTTLS before logging in");
    co_return true;
  }
  sasl::Credentials credentials{"", login.user, Secret(login.password)};
  co_return co_await log_in(command, std::move(credentials));
}

// RFC 9051 §6.2.2, with RFC 4959 SASL-IR.
net::awaitable<bool> Session::on_authenticate(const Command& command, const Authenticate& auth) {
  if (!login_allowed()) {
    tagged(command, "NO", "[PRIVACYREQUIRED] Use STARTTLS before logging in");
    co_return true;
  }
  if (!sasl::parse_mechanism(auth.mechanism)) {
    tagged(command, "NO", "Unsupported authentication mechanism");
    co_return true;
  }
  auto initial = auth.initial;
  auto outcome = co_await talk_.authenticate(auth.mechanism, std::move(initial));
  if (!outcome) co_return false;
  if (auto* refusal = std::get_if<session::SaslRefusal>(&*outcome))
    co_return bad(command.tag, *refusal == session::SaslRefusal::cancelled ? "Authentication cancelled"
                                                                           : "Cannot decode the response");
  co_return co_await log_in(command, std::move(std::get<sasl::Credentials>(*outcome)));
}

net::awaitable<bool> Session::log_in(const Command& command, sasl::Credentials credentials) {
  auto outcome = co_await talk_.log_in(std::move(credentials));
  if (std::holds_alternative<session::LockedOut>(outcome)) {
    tagged(command, "NO", "[UNAVAILABLE] Too many failed logins from your address; try again later");
    co_return true;
  }
  if (std::holds_alternative<session::LoginFailed>(outcome)) {
    tagged(command, "NO", "[AUTHENTICATIONFAILED] Authentication failed");
    co_return true;
  }
  state_.enter<Authenticated>(std::move(std::get<storage::User>(outcome)));
  tagged(command, "OK", fmt::format("[CAPABILITY {}] Logged in", capabilities()));
  co_return true;
}

// --- IDLE (RFC 2177) --------------------------------------------------------------------------

net::awaitable<bool> Session::on_idle(const Command& command, const Idle&) {
  if (selected()) {
    sync_changes();
    report_updates(true);
  }
  talk_.send("+ idling\r\n");
  if (!co_await talk_.flush()) co_return false;
  idling_ = true;
  notifier_running_ = true;
  notifier_done_.emplace(connection().get_executor());
  notifier_done_->expires_at(asio::steady_timer::time_point::max());
  asio::co_spawn(connection().get_executor(), idle_notifier(), [this](std::exception_ptr e) {
    if (e) log::error(talk_.id(), "idle_notifier_failed", "error={}", log::quoted(log::describe(e)));
    notifier_running_ = false;
    notifier_done_->cancel();
  });
  auto result = co_await connection().read_line(cfg_.imapd.idle_timeout);
  idling_ = false;
  Doorbell::ring(bell_);
  while (notifier_running_) co_await notifier_done_->async_wait(net::use_tuple);
  if (mailbox_deleted_) {
    talk_.send(kMailboxDeleted);
    co_await talk_.flush();
    co_return false;
  }
  if (auto* closed = std::get_if<net::Closed>(&result)) {
    co_await talk_.goodbye(closed->why);
    co_return false;
  }
  auto* line = std::get_if<io::Line>(&result);
  if (!line || !text::iequals_ascii(line->text, "DONE")) co_return bad(command.tag, "Expected DONE to end IDLE");
  if (selected()) {
    sync_changes();
    report_updates(true);
  }
  tagged(command, "OK", "IDLE terminated");
  co_return true;
}

// Beside the read of DONE: reports changes as the watcher rings.
net::awaitable<void> Session::idle_notifier() {
  while (idling_) {
    // g++ 12 miscompiles a discarded co_await result here (SIGILL): keep it named.
    bool rung = co_await bell_->wait(std::chrono::hours(24));
    if (!idling_) break;
    if (!rung) continue;
    if (!selected()) continue;
    sync_changes();
    if (mailbox_deleted_) {
      connection().request_shutdown();  // ends the read of DONE; on_idle says goodbye
      break;
    }
    report_updates(true);
    if (!talk_.out().empty() && !co_await talk_.flush()) break;
  }
}

net::awaitable<void> serve_imap(net::Connection& connection, const ImapContext& context) {
  Session session(connection, context);
  co_await session.run();
}

}  // namespace mailstead::imap
