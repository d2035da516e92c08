#include "smtpd/milters.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/log/log.hpp"
#include "common/text/ascii.hpp"

namespace mailstead::smtp {
namespace {

// What we let a filter do: header and body changes, quarantine (into Junk), and adding and
// removing recipients (rspamd asks for all of these, and libmilter refuses an MTA that offers
// less than its filter asks). The sender stays as the client gave it.
constexpr std::uint32_t kActions = milter::action::kAddHeaders | milter::action::kChangeHeaders |
                                   milter::action::kChangeBody | milter::action::kQuarantine |
                                   milter::action::kAddRecipient | milter::action::kDeleteRecipient;

std::string_view decision_name(milter::Decision d) {
  switch (d) {
    case milter::Decision::accept:
      return "accept";
    case milter::Decision::proceed:
      return "continue";
    case milter::Decision::reject:
      return "reject";
    case milter::Decision::tempfail:
      return "tempfail";
    case milter::Decision::discard:
      return "discard";
    case milter::Decision::skip:
      return "skip";
  }
  return "?";
}

}  // namespace

bool is_junk_header(const std::vector<std::string>& junk_headers, std::string_view name, std::string_view value) {
  for (std::string_view line : junk_headers) {
    auto colon = line.find(':');
    if (text::iequals_ascii(text::trim_fws(line.substr(0, colon)), text::trim_fws(name)) &&
        text::iequals_ascii(text::trim_fws(line.substr(colon + 1)), text::trim_fws(value)))
      return true;
  }
  return false;
}

struct Milters::Filter {
  Filter(net::asio::any_io_executor executor, const config::MilterAddress& address, milter::Timeouts timeouts)
      : client(std::move(executor), address, timeouts) {}
  milter::Client client;
  bool done_for_session = false;  // accepted the connection, or left out after failing
  bool done_for_message = false;  // accepted this message
};

Milters::Milters(net::asio::any_io_executor executor, const config::MilterConfig& config, std::string session_id)
    : config_(config), session_id_(std::move(session_id)) {
  milter::Timeouts timeouts{config.connect_timeout, config.command_timeout, config.content_timeout};
  for (const auto& address : config.servers) filters_.push_back(std::make_unique<Filter>(executor, address, timeouts));
}

Milters::~Milters() = default;

FilterVerdict Milters::decide(Filter& filter, const milter::Answer& answer, std::string_view during, Phase phase) {
  auto name = filter.client.address().to_string();
  if (answer.failed()) {
    if (config_.on_failure == config::MilterFailure::accept) {
      log::warn(session_id_, "milter_failed", "during={} action=accept reason={}", log::quoted(during),
                log::quoted(answer.failure));
      filter.done_for_session = true;
      return {};
    }
    log::warn(session_id_, "milter_failed", "during={} action=tempfail reason={}", log::quoted(during),
              log::quoted(answer.failure));
    // Connect and HELO go on: the refusal comes with the first command of a transaction, which
    // a client retries (RFC 5321 §4.2.1: 4yz), where a refused greeting it might not.
    if (phase == Phase::connect || phase == Phase::helo) return {};
    return {FilterVerdict::Kind::refuse,
            reply(status::kFilterUnavailable, "Content filter unavailable, try again later")};
  }
  using milter::Decision;
  if (answer.decision != Decision::proceed)
    log::info(session_id_, "milter", "filter={} during={} decision={} reply={}", name, log::quoted(during),
              decision_name(answer.decision),
              log::quoted(answer.reply ? fmt::format("{}", fmt::join(answer.reply->lines, " ")) : std::string()));
  switch (answer.decision) {
    case Decision::proceed:
    case Decision::skip:
      return {};
    case Decision::accept:
      (phase == Phase::connect || phase == Phase::helo ? filter.done_for_session : filter.done_for_message) = true;
      return {};
    case Decision::discard:
      if (phase == Phase::connect || phase == Phase::helo) {
        discard_session_ = true;
        return {};
      }
      return {FilterVerdict::Kind::discard, {}};
    case Decision::reject:
    case Decision::tempfail:
      break;
  }
  if (answer.reply) {
    Reply r{static_cast<int>(answer.reply->code), answer.reply->enhanced, answer.reply->lines};
    if (r.enhanced.empty()) r.enhanced = r.code >= 500 ? "5.7.1" : "4.7.1";
    return {FilterVerdict::Kind::refuse, std::move(r)};
  }
  bool reject = answer.decision == Decision::reject;
  switch (phase) {
    case Phase::connect:  // RFC 5321 §3.1: a greeting that refuses service
      return {FilterVerdict::Kind::refuse, reject
                                               ? reply(status::kNoService, "Service unavailable")
                                               : reply(status::kClosingPolicy, "Service unavailable, try again later")};
    case Phase::content:
      return {FilterVerdict::Kind::refuse,
              reject ? reply(status::kFilterReject, "Message content rejected")
                     : reply(status::kFilterTempfail, "Service unavailable, try again later")};
    default:
      return {FilterVerdict::Kind::refuse,
              reject ? reply(status::kFilterReject, "Command rejected")
                     : reply(status::kFilterTempfail, "Service unavailable, try again later")};
  }
}

net::awaitable<FilterVerdict> Milters::connect(std::string_view client_name, const milter::Peer& peer,
                                               const milter::Macros& macros) {
  for (auto& f : filters_) {
    auto answer = co_await f->client.open(kActions, client_name, peer, macros);
    auto verdict = decide(*f, answer, "connect", Phase::connect);
    if (verdict.kind != FilterVerdict::Kind::proceed) co_return verdict;
  }
  co_return FilterVerdict{};
}

net::awaitable<FilterVerdict> Milters::ask_all(Step step, const std::vector<std::string>& args,
                                               const milter::Macros& macros) {
  std::string_view during = step == Step::helo ? "HELO" : step == Step::mail ? "MAIL" : "RCPT";
  auto phase = step == Step::helo ? Phase::helo : Phase::transaction;
  for (auto& f : filters_) {
    if (f->done_for_session) continue;
    if (step == Step::mail) f->done_for_message = false;
    if (f->done_for_message) continue;
    milter::Answer answer;
    switch (step) {
      case Step::helo:
        answer = co_await f->client.helo(args.front(), macros);
        break;
      case Step::mail:
        answer = co_await f->client.mail(args, macros);
        break;
      case Step::rcpt:
        answer = co_await f->client.rcpt(args, macros);
        break;
    }
    auto verdict = decide(*f, answer, during, phase);
    if (verdict.kind != FilterVerdict::Kind::proceed) co_return verdict;
  }
  if (step == Step::mail && discard_session_) co_return FilterVerdict{FilterVerdict::Kind::discard, {}};
  co_return FilterVerdict{};
}

net::awaitable<FilterVerdict> Milters::helo(std::string_view domain, const milter::Macros& macros) {
  std::vector<std::string> args{std::string(domain)};
  co_return co_await ask_all(Step::helo, args, macros);
}

net::awaitable<FilterVerdict> Milters::mail(const std::vector<std::string>& args, const milter::Macros& macros) {
  co_return co_await ask_all(Step::mail, args, macros);
}

net::awaitable<FilterVerdict> Milters::rcpt(const std::vector<std::string>& args, const milter::Macros& macros) {
  co_return co_await ask_all(Step::rcpt, args, macros);
}

net::awaitable<FilteredMessage> Milters::message(std::string message, const milter::Macros& macros,
                                                 const milter::EditLimits& limits) {
  FilteredMessage out;
  for (auto& f : filters_) {
    if (f->done_for_session || f->done_for_message) continue;
    auto answer = co_await f->client.message(message, macros, limits.max_message_size);
    auto name = f->client.address().to_string();
    auto verdict = decide(*f, answer.answer, "end of message", Phase::content);
    if (verdict.kind != FilterVerdict::Kind::proceed) {
      out.verdict = std::move(verdict);
      co_return out;
    }
    if (answer.answer.failed()) continue;  // left out (on_failure = accept)
    for (const auto& edit : answer.edits.header) {
      std::visit(
          [&](const auto& e) {
            if (out.junk_reason.empty() && is_junk_header(config_.junk_headers, e.name, e.value))
              out.junk_reason = fmt::format("{} set {}: {}", name, e.name, e.value);
          },
          edit);
    }
    for (auto& r : answer.edits.added_recipients) out.added_recipients.push_back(std::move(r));
    for (auto& r : answer.edits.deleted_recipients) out.deleted_recipients.push_back(std::move(r));
    if (answer.quarantine && out.junk_reason.empty())
      out.junk_reason = fmt::format("{} quarantined it: {}", name, *answer.quarantine);
    if (!answer.edits.empty()) {
      auto applied = milter::apply(message, answer.edits, limits);
      if (auto* error = std::get_if<milter::EditError>(&applied)) {
        // A change that cannot be made is the filter's fault, like a broken reply.
        auto failed = decide(*f, milter::Answer{milter::Decision::tempfail, std::nullopt, error->why}, "end of message",
                             Phase::content);
        if (failed.kind != FilterVerdict::Kind::proceed) {
          out.verdict = std::move(failed);
          co_return out;
        }
        continue;
      }
      message = std::move(std::get<std::string>(applied));
      log::info(session_id_, "milter_changes", "filter={} header={} body={}", name, answer.edits.header.size(),
                answer.edits.body ? "replaced" : "kept");
    }
  }
  out.message = std::move(message);
  co_return out;
}

net::awaitable<void> Milters::abort() {
  for (auto& f : filters_) co_await f->client.abort();
}

net::awaitable<void> Milters::quit() {
  for (auto& f : filters_) co_await f->client.quit();
}

}  // namespace mailstead::smtp
