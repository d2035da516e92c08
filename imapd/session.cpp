// mailstead-imapd's session: the command loop, reading commands with their literals, output,
// and dispatch through the command table. See session_impl.hpp.

#include <fmt/format.h>

#include "common/log/log.hpp"
#include "common/overloaded.hpp"
#include "imapd/proto/command_reader.hpp"
#include "imapd/session_impl.hpp"

namespace mailstead::imap {

namespace asio = net::asio;

namespace {

// Room reserved ahead of a literal's bytes, at most: what was announced is not what arrives.
constexpr std::uint64_t kLiteralReserve = std::uint64_t{1024} * 1024;

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
  return state_.as<Authenticated>().user;  // callers are past login (the command table)
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
      " QUOTA QUOTA=RES-STORAGE QUOTA=RES-MESSAGE SORT SORT=DISPLAY ESORT CONTEXT=SEARCH CONTEXT=SORT "
      "THREAD=ORDEREDSUBJECT THREAD=REFERENCES"
      " OBJECTID REPLACE SAVEDATE PREVIEW UIDONLY METADATA";
  if (!state_.is<NotAuthenticated>()) caps += " UNAUTHENTICATE";
  fmt::format_to(std::back_inserter(caps), " APPENDLIMIT={}", cfg_.imapd.max_message_size);
  if (!state_.is<NotAuthenticated>() && !connection().compressing()) caps += " COMPRESS=DEFLATE";
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
    if (compress_next_) {  // RFC 4978 §3: after the OK, not before
      compress_next_ = false;
      if (!co_await talk_.flush()) break;
      connection().start_compression();
    }
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
  // which is held whole, grow past the limit of one message. Before login a stranger gets a
  // few KiB: enough for a password, not for a message (the line limit is the same until
  // login raises it, imapd/main.cpp).
  const bool stranger = state_.is<NotAuthenticated>();
  // After login a command's literals are a message's size only where they carry messages;
  // elsewhere (a SEARCH string, a mailbox name, an annotation) its text and one annotation value.
  std::uint64_t max_literal = stranger ? cfg_.imapd.max_preauth_length : cfg_.imapd.max_message_size;
  const std::uint64_t max_other_literals = cfg_.imapd.max_line_length + cfg_.imapd.max_metadata_size;
  // The lines of one command, literals apart: a MULTIAPPEND has one line per message.
  const std::uint64_t max_text =
      stranger ? cfg_.imapd.max_preauth_length : 16 * cfg_.imapd.max_message_size / 1024 + std::uint64_t{1024} * 1024;
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
    if (command.size() - literals + line.size() > max_text) {
      bad(std::string(peek_tag(command)), "Command too long");
      co_return std::nullopt;
    }
    command += line;
    command += "\r\n";
    auto literal = trailing_literal(line);
    if (!literal) co_return command;
    if (literals == 0 && !stranger && !carries_messages(line)) max_literal = std::min(max_literal, max_other_literals);
    if (literals + literal->size > max_literal) {
      auto tag = std::string(peek_tag(command));
      auto what = literals == 0 ? fmt::format("Literal of {} octets is", literal->size)
                                : fmt::format("Literals of {} octets in one command are", literals + literal->size);
      auto limit = stranger ? fmt::format("{} before login", max_literal) : fmt::format("{}", max_literal);
      if (!literal->synchronizing) {
        // The client is sending it anyway; there is no way to stay in step without reading it.
        talk_.refuse(fmt::format("* BYE {} over the limit of {}\r\n", what, limit));
        co_await talk_.flush();
        co_return std::nullopt;
      }
      talk_.refuse(fmt::format("{} NO [TOOBIG] {} over the limit of {}\r\n", tag.empty() ? "*" : tag, what, limit));
      co_return std::string();
    }
    literals += literal->size;
    if (literal->synchronizing) {
      talk_.send("+ Ready for literal data\r\n");
      if (!co_await talk_.flush()) co_return std::nullopt;
    }
    std::uint64_t remaining = literal->size;
    // Room for what arrives, not for what was announced: a client that announces 50 MB and
    // sends nothing holds no more than it sent.
    command.reserve(command.size() + std::min<std::uint64_t>(remaining, kLiteralReserve));
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
    // The rest of the line has not come: the client may be holding it back until the literal
    // is acknowledged (Nagle's algorithm; imaplib writes the literal and its CRLF apart).
    if (connection().input().buffered().empty()) connection().acknowledge_now();
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
  // RFC 9586 §3: once UIDONLY is on, a command that names messages by number is refused.
  if (enabled_.uidonly && uses_sequence_numbers(command))
    co_return bad(command.tag, "[UIDREQUIRED] Message sequence numbers are not used once UIDONLY is enabled");
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
                        [&](const Search& x) { return on_search(c, x); },
                        [&](const Sort& x) { return on_sort(c, x); },
                        [&](const Thread& x) { return on_thread(c, x); },
                        [&](const Fetch& x) { return on_fetch(c, x); },
                        [&](const Store& x) { return on_store(c, x); },
                        [&](const Copy& x) { return on_copy(c, x); },
                        [&](const Move& x) { return on_move(c, x); },
                        [&](const Replace& x) { return on_replace(c, x); },
                        [&](const Id& x) { return finished(on_id(c, x)); },
                        [&](const GetQuota& x) { return finished(on_getquota(c, x)); },
                        [&](const GetQuotaRoot& x) { return finished(on_getquotaroot(c, x)); },
                        [&](const SetQuota& x) { return finished(on_setquota(c, x)); },
                        [&](const Compress& x) { return finished(on_compress(c, x)); },
                        [&](const Unauthenticate& x) { return finished(on_unauthenticate(c, x)); },
                        [&](const GetMetadata& x) { return finished(on_getmetadata(c, x)); },
                        [&](const SetMetadata& x) { return on_setmetadata(c, x); },
                        [&](const CancelUpdate& x) { return finished(on_cancelupdate(c, x)); },
                    },
                    command.arguments);
}

net::awaitable<session::Written> Session::commit(const char* what, storage::GroupCommitter::Work work) {
  co_return co_await talk_.commit(what, std::move(work));
}

std::string Session::not_written(const session::Written& written, std::string_view doing) {
  auto code = written.failure.value_or(storage::Errc::io_error);
  if (code == storage::Errc::no_space)
    return fmt::format("{}{}: the mail store is full; try again later", response_code(code), doing);
  return fmt::format("{}{}; try again", response_code(code), doing);
}

net::awaitable<void> serve_imap(net::Connection& connection, const ImapContext& context) {
  Session session(connection, context);
  co_await session.run();
}

}  // namespace mailstead::imap
