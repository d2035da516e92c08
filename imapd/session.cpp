// mailstead-imapd's session: the command loop. See session_impl.hpp.

#include <fmt/format.h>

#include "common/log/log.hpp"
#include "common/text/ascii.hpp"
#include "imapd/proto/command_reader.hpp"
#include "imapd/session_impl.hpp"
#include "session/commit.hpp"
#include "session/login.hpp"
#include "session/sasl_exchange.hpp"

namespace mailstead::imap {

namespace asio = net::asio;

Session::Session(net::Connection& c, const ImapContext& ctx)
    : c_(c), ctx_(ctx), cfg_(ctx.services.config), bell_(std::make_shared<Doorbell>(c.get_executor())) {}

Session::~Session() {
  ctx_.watcher.unwatch(bell_.get());
}

std::string Session::capabilities() const {
  std::string caps = "IMAP4rev1 IMAP4rev2";
  if (!c_.is_tls()) caps += " STARTTLS";
  if (!user_) {
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
  out_ += fmt::format("* OK [CAPABILITY {}] mailstead IMAP server ready\r\n", capabilities());
  for (;;) {
    if ((!c_.input().has_line() || out_.size() >= kFlushAt) && !co_await flush()) co_return;
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
      out_ += "* BYE Selected mailbox was deleted, have to disconnect\r\n";
      break;
    }
  }
  co_await flush();
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
    auto result = co_await c_.read_line(cfg_.imapd.idle_timeout);
    if (auto* closed = std::get_if<net::Closed>(&result)) {
      if (closed->why == net::ReadStatus::timed_out) out_ += "* BYE Autologout; idle for too long\r\n";
      if (closed->why == net::ReadStatus::shutdown) out_ += "* BYE Server shutting down\r\n";
      co_await flush();
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
        out_ += fmt::format("* BYE {} over the limit of {}\r\n", what, max_literal);
        co_await flush();
        co_return std::nullopt;
      }
      out_ += fmt::format("{} NO [TOOBIG] {} over the limit of {}\r\n", tag.empty() ? "*" : tag, what, max_literal);
      co_return std::string();
    }
    literals += literal->size;
    if (literal->synchronizing) {
      out_ += "+ Ready for literal data\r\n";
      if (!co_await flush()) co_return std::nullopt;
    }
    std::uint64_t remaining = literal->size;
    command.reserve(command.size() + remaining + 256);
    while (remaining > 0) {
      auto buffered = c_.input().buffered();
      if (buffered.empty()) {
        auto status = co_await c_.receive_more(cfg_.imapd.idle_timeout);
        if (status != net::ReadStatus::ok) co_return std::nullopt;
        continue;
      }
      auto n = std::min<std::uint64_t>(remaining, buffered.size());
      command.append(buffered.data(), n);
      c_.input().consume(n);
      remaining -= n;
    }
  }
}

net::awaitable<bool> Session::flush() {
  if (out_.empty()) co_return true;
  auto data = std::move(out_);
  out_.clear();
  co_return co_await c_.write(data, cfg_.imapd.idle_timeout);
}

void Session::tagged(const Command& command, std::string_view status, std::string_view text) {
  fmt::format_to(std::back_inserter(out_), "{} {} {}\r\n", command.tag, status, text);
}

bool Session::bad(const std::string& tag, std::string_view text) {
  fmt::format_to(std::back_inserter(out_), "{} BAD {}\r\n", tag.empty() ? "*" : tag, text);
  log::info(c_.session_id(), "bad_command", "text={}", log::quoted(text));
  if (++errors_ < cfg_.imapd.max_errors) return true;
  out_ += "* BYE Too many bad commands\r\n";
  return false;
}

bool Session::allowed(const Arguments& a) const {
  auto any = std::holds_alternative<Capability>(a) || std::holds_alternative<Noop>(a) ||
             std::holds_alternative<Logout>(a) || std::holds_alternative<Id>(a);
  if (any) return true;
  auto not_authenticated = std::holds_alternative<StartTls>(a) || std::holds_alternative<Authenticate>(a) ||
                           std::holds_alternative<Login>(a);
  if (!user_) return not_authenticated;
  if (not_authenticated) return false;
  auto selected_only = std::holds_alternative<Check>(a) || std::holds_alternative<Close>(a) ||
                       std::holds_alternative<Unselect>(a) || std::holds_alternative<Expunge>(a) ||
                       std::holds_alternative<Search>(a) || std::holds_alternative<Fetch>(a) ||
                       std::holds_alternative<Store>(a) || std::holds_alternative<Copy>(a);
  if (selected_only) return selected_.has_value();
  return true;
}

net::awaitable<bool> Session::dispatch(Command command) {
  const auto& a = command.arguments;
  if (!allowed(a)) {
    // Refused before login: anything but the login commands. After login: those (again), or
    // a command that needs a selected mailbox.
    bool login_command = std::holds_alternative<Login>(a) || std::holds_alternative<Authenticate>(a) ||
                         std::holds_alternative<StartTls>(a);
    co_return bad(command.tag, !user_          ? "Log in first"
                               : login_command ? "Already logged in"
                                               : "Select a mailbox first");
  }
  if (std::holds_alternative<Capability>(a)) {
    out_ += fmt::format("* CAPABILITY {}\r\n", capabilities());
    tagged(command, "OK", "CAPABILITY completed");
    co_return true;
  }
  if (std::holds_alternative<Noop>(a) || std::holds_alternative<Check>(a)) {
    if (selected_) {
      sync_changes();
      report_updates(true);
    }
    tagged(command, "OK", fmt::format("{} completed", command.name));
    co_return true;
  }
  if (std::holds_alternative<Logout>(a)) {
    out_ += "* BYE Logging out\r\n";
    tagged(command, "OK", "LOGOUT completed");
    co_return false;
  }
  if (std::holds_alternative<Id>(a)) co_return on_id(command);
  if (auto* x = std::get_if<GetQuotaRoot>(&a)) co_return on_get_quota_root(command, *x);
  if (auto* x = std::get_if<GetQuota>(&a)) co_return on_get_quota(command, *x);
  if (std::holds_alternative<SetQuota>(a)) {
    tagged(command, "NO", "[NOPERM] Quotas are set by the administrator (mailstead user quota)");
    co_return true;
  }
  if (std::holds_alternative<StartTls>(a)) co_return co_await on_starttls(command);
  if (auto* x = std::get_if<Login>(&a)) {
    if (!login_allowed()) {
      tagged(command, "NO", "[PRIVACYREQUIRED] Use STARTTLS before logging in");
      co_return true;
    }
    sasl::Credentials credentials{"", x->user, Secret(x->password)};
    co_return co_await on_login(command, std::move(credentials));
  }
  if (auto* x = std::get_if<Authenticate>(&a)) co_return co_await on_authenticate(command, *x);
  if (auto* x = std::get_if<Enable>(&a)) co_return on_enable(command, *x);
  if (auto* x = std::get_if<Select>(&a)) co_return co_await on_select(command, *x);
  if (auto* x = std::get_if<List>(&a)) co_return on_list(command, *x);
  if (std::holds_alternative<Namespace>(a)) {
    out_ += fmt::format("* NAMESPACE ((\"\" \"{}\")) NIL NIL\r\n", ctx_.services.store.options().hierarchy_separator);
    tagged(command, "OK", "NAMESPACE completed");
    co_return true;
  }
  if (auto* x = std::get_if<Status>(&a)) co_return on_status(command, *x);
  if (auto* x = std::get_if<Create>(&a)) co_return co_await on_create(command, *x);
  if (auto* x = std::get_if<Delete>(&a)) co_return co_await on_delete(command, *x);
  if (auto* x = std::get_if<Rename>(&a)) co_return co_await on_rename(command, *x);
  if (auto* x = std::get_if<Subscribe>(&a)) co_return co_await on_subscribe(command, *x);
  if (auto* x = std::get_if<Append>(&a)) co_return co_await on_append(command, *x);
  if (std::holds_alternative<Idle>(a)) co_return co_await on_idle(command);
  if (std::holds_alternative<Close>(a)) co_return co_await on_close(command);
  if (std::holds_alternative<Unselect>(a)) {
    deselect();
    tagged(command, "OK", "UNSELECT completed");
    co_return true;
  }
  if (auto* x = std::get_if<Expunge>(&a)) co_return co_await on_expunge(command, *x);
  if (auto* x = std::get_if<Search>(&a)) co_return on_search(command, *x);
  if (auto* x = std::get_if<Fetch>(&a)) co_return co_await on_fetch(command, *x);
  if (auto* x = std::get_if<Store>(&a)) co_return co_await on_store(command, *x);
  if (auto* x = std::get_if<Copy>(&a)) co_return co_await on_copy(command, *x);
  co_return bad(command.tag, "Unknown command");
}

net::awaitable<bool> Session::commit(const char* what, storage::GroupCommitter::Work work) {
  auto outcome = co_await session::commit(ctx_.services.committer, std::move(work));
  if (!outcome.error) co_return true;
  try {
    std::rethrow_exception(outcome.error);
  } catch (const std::exception& e) {
    log::error(c_.session_id(), "write_failed", "command={} error={}", what, log::quoted(e.what()));
  }
  co_return false;
}

// --- not authenticated ----------------------------------------------------------------------

net::awaitable<bool> Session::on_starttls(const Command& command) {
  if (c_.is_tls()) co_return bad(command.tag, "TLS is already active");
  tagged(command, "OK", "Begin TLS negotiation now");
  if (!co_await flush()) co_return false;
  if (auto ec = co_await c_.start_tls(cfg_.limits.tls_handshake_timeout)) {
    log::info(c_.session_id(), "tls_failed", "error={}", log::quoted(ec.message()));
    co_return false;
  }
  log::info(c_.session_id(), "tls", "cipher={}", log::quoted(c_.tls_description()));
  co_return true;
}

net::awaitable<bool> Session::on_login(const Command& command, sasl::Credentials credentials) {
  if (session::locked_out(ctx_.services, c_)) {
    tagged(command, "NO", "[UNAVAILABLE] Too many failed logins from your address; try again later");
    co_return true;
  }
  auto user = co_await session::log_in(ctx_.services, c_, std::move(credentials));
  if (!user) {
    tagged(command, "NO", "[AUTHENTICATIONFAILED] Authentication failed");
    co_return true;
  }
  user_ = std::move(*user);
  tagged(command, "OK", fmt::format("[CAPABILITY {}] Logged in", capabilities()));
  co_return true;
}

net::awaitable<bool> Session::on_authenticate(const Command& command, const Authenticate& auth) {
  if (!login_allowed()) {
    tagged(command, "NO", "[PRIVACYREQUIRED] Use STARTTLS before logging in");
    co_return true;
  }
  auto mechanism = sasl::parse_mechanism(auth.mechanism);
  if (!mechanism) {
    tagged(command, "NO", "Unsupported authentication mechanism");
    co_return true;
  }
  auto outcome = co_await session::run_sasl(c_, *mechanism, auth.initial, "+ ", cfg_.imapd.idle_timeout, out_);
  if (!outcome) co_return false;
  if (auto* failed = std::get_if<sasl::Failed>(&*outcome)) {
    if (failed->reason == sasl::Failure::cancelled) co_return bad(command.tag, "Authentication cancelled");
    co_return bad(command.tag, "Cannot decode the response");
  }
  co_return co_await on_login(command, std::move(std::get<sasl::Success>(*outcome).credentials));
}

// --- any state ------------------------------------------------------------------------------

bool Session::on_enable(const Command& command, const Enable& enable) {
  std::string enabled;
  for (const auto& capability : enable.capabilities) {
    if (capability == "UTF8=ACCEPT" && !utf8_) {
      utf8_ = true;
      enabled += " UTF8=ACCEPT";
    } else if (capability == "CONDSTORE" && !condstore_) {
      condstore_ = true;
      enabled += " CONDSTORE";
    } else if (capability == "QRESYNC" && !qresync_) {
      qresync_ = condstore_ = true;  // QRESYNC implies CONDSTORE (RFC 7162 §3.2.3)
      enabled += " QRESYNC";
    } else if (capability == "IMAP4REV2" && !imap4rev2_) {
      imap4rev2_ = true;
      enabled += " IMAP4rev2";
    }
  }
  out_ += fmt::format("* ENABLED{}\r\n", enabled);
  tagged(command, "OK", "ENABLE completed");
  return true;
}

bool Session::on_id(const Command& command) {
  const auto& id = std::get<Id>(command.arguments);
  std::string fields;
  for (const auto& [name, value] : id.fields) fields += fmt::format(" {}={}", name, log::quoted(value));
  log::info(c_.session_id(), "client_id", "{}", fields);
  out_ += "* ID (\"name\" \"mailstead\")\r\n";
  tagged(command, "OK", "ID completed");
  return true;
}

// --- IDLE (RFC 2177) --------------------------------------------------------------------------

net::awaitable<bool> Session::on_idle(const Command& command) {
  if (selected_) {
    sync_changes();
    report_updates(true);
  }
  out_ += "+ idling\r\n";
  if (!co_await flush()) co_return false;
  idling_ = true;
  notifier_running_ = true;
  notifier_done_.emplace(c_.get_executor());
  notifier_done_->expires_at(asio::steady_timer::time_point::max());
  asio::co_spawn(c_.get_executor(), idle_notifier(), [this](std::exception_ptr) {
    notifier_running_ = false;
    notifier_done_->cancel();
  });
  auto result = co_await c_.read_line(cfg_.imapd.idle_timeout);
  idling_ = false;
  Doorbell::ring(bell_);
  while (notifier_running_) co_await notifier_done_->async_wait(net::use_tuple);
  if (mailbox_deleted_) {
    out_ += "* BYE Selected mailbox was deleted, have to disconnect\r\n";
    co_await flush();
    co_return false;
  }
  if (auto* closed = std::get_if<net::Closed>(&result)) {
    if (closed->why == net::ReadStatus::timed_out) out_ += "* BYE Autologout; idle for too long\r\n";
    if (closed->why == net::ReadStatus::shutdown) out_ += "* BYE Server shutting down\r\n";
    co_await flush();
    co_return false;
  }
  auto* line = std::get_if<io::Line>(&result);
  if (!line || !text::iequals_ascii(line->text, "DONE")) co_return bad(command.tag, "Expected DONE to end IDLE");
  if (selected_) {
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
    if (!selected_) continue;
    sync_changes();
    if (mailbox_deleted_) {
      c_.request_shutdown();  // ends the read of DONE; on_idle says goodbye
      break;
    }
    report_updates(true);
    if (!out_.empty() && !co_await flush()) break;
  }
}

net::awaitable<void> serve_imap(net::Connection& connection, const ImapContext& context) {
  Session session(connection, context);
  co_await session.run();
}

}  // namespace mailstead::imap
