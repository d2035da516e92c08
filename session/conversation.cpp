#include "session/conversation.hpp"

#include "common/log/log.hpp"
#include "session/commit.hpp"
#include "session/login.hpp"

namespace mailstead::session {
namespace {

std::string_view first_line(std::string_view text) {
  return text.substr(0, text.find("\r\n"));
}

}  // namespace

Conversation::Conversation(net::Connection& connection, const Services& services, Dialect dialect)
    : connection_(connection), services_(services), dialect_(std::move(dialect)) {}

void Conversation::refuse(std::string_view text) {
  out_ += text;
  log::info(id(), "reply", "text={}", log::quoted(first_line(text)));
}

bool Conversation::error(std::string_view text) {
  refuse(text);
  if (++errors_ < dialect_.max_errors) return true;
  out_ += dialect_.too_many_errors;
  log::info(id(), "too_many_errors", "errors={}", errors_);
  return false;
}

bool Conversation::should_flush(std::size_t high_water) const {
  return !connection_.input().has_line() || out_.size() >= high_water;
}

net::awaitable<bool> Conversation::flush() {
  if (out_.empty()) co_return true;
  auto data = std::move(out_);
  out_.clear();
  co_return co_await connection_.write(data, dialect_.timeout);
}

net::awaitable<void> Conversation::goodbye(net::ReadStatus why) {
  if (why == net::ReadStatus::timed_out) out_ += dialect_.timed_out;
  if (why == net::ReadStatus::shutdown) out_ += dialect_.shutting_down;
  co_await flush();
}

void Conversation::internal_error(std::string_view command, const std::exception_ptr& cause, std::string_view reply) {
  log::error(id(), "internal_error", "command={} error={}", log::quoted(command),
             log::quoted(log::describe(cause), 500));
  out_ += reply;
}

net::awaitable<bool> Conversation::start_tls(std::string_view go_ahead) {
  out_ += go_ahead;
  if (!co_await flush()) co_return false;
  if (auto ec = co_await connection_.start_tls(config().limits.tls_handshake_timeout)) {
    log::info(id(), "tls_failed", "error={}", log::quoted(ec.message()));
    co_return false;
  }
  log::info(id(), "tls", "cipher={}", log::quoted(connection_.tls_description()));
  co_return true;
}

bool Conversation::locked_out() const {
  return session::locked_out(services_, connection_);
}

net::awaitable<LoginOutcome> Conversation::log_in(sasl::Credentials credentials) {
  if (locked_out()) co_return LockedOut{};
  auto user = co_await session::log_in(services_, connection_, std::move(credentials));
  if (!user) co_return LoginFailed{};
  co_return std::move(*user);
}

net::awaitable<std::optional<SaslOutcome>> Conversation::authenticate(std::string_view mechanism_name,
                                                                      std::optional<std::string> initial_response) {
  auto mechanism = sasl::parse_mechanism(mechanism_name);
  if (!mechanism) co_return SaslRefusal::unknown_mechanism;
  sasl::ServerExchange exchange(*mechanism);
  std::optional<std::string_view> initial;
  if (initial_response) initial = *initial_response;
  auto step = exchange.start(initial);
  while (auto* challenge = std::get_if<sasl::Challenge>(&step)) {
    out_ += dialect_.sasl_prefix;
    out_ += challenge->base64;
    out_ += "\r\n";
    if (!co_await flush()) co_return std::nullopt;
    auto line = co_await connection_.read_line(dialect_.timeout);
    auto* text = std::get_if<io::Line>(&line);
    if (!text) co_return std::nullopt;
    step = exchange.respond(text->text);
  }
  if (auto* failed = std::get_if<sasl::Failed>(&step))
    co_return failed->reason == sasl::Failure::cancelled ? SaslRefusal::cancelled : SaslRefusal::undecodable;
  co_return std::move(std::get<sasl::Success>(step).credentials);
}

net::awaitable<Written> Conversation::commit(std::string_view what, storage::GroupCommitter::Work work) {
  auto outcome = co_await session::commit(services_.committer, std::move(work));
  if (!outcome.error) co_return Written{};
  Written failed{storage::Errc::io_error};
  try {
    std::rethrow_exception(outcome.error);
  } catch (const Refused& refused) {
    log::info(id(), "write_refused", "what={} why={}", what, log::quoted(refused.what()));
    co_return failed;
  } catch (const storage::StorageError& e) {
    failed.failure = e.code();
  } catch (...) {
  }
  log::error(id(), "write_failed", "what={} error={}", what, log::quoted(log::describe(outcome.error)));
  co_return failed;
}

}  // namespace mailstead::session
