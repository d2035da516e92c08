#include "common/milter/client.hpp"

#include <fmt/format.h>

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include "common/mime/mime.hpp"

namespace mailstead::milter {
namespace {

namespace asio = net::asio;
using net::use_tuple;

// The steps and replies we can do without, offered so that a filter can say which it needs.
constexpr std::uint32_t kOfferedSteps =
    step::kNoConnect | step::kNoHelo | step::kNoMail | step::kNoRcpt | step::kNoBody | step::kNoHeaders |
    step::kNoEndOfHeader | step::kNoReplyHeader | step::kNoUnknown | step::kNoData | step::kSkip |
    step::kNoReplyConnect | step::kNoReplyHelo | step::kNoReplyMail | step::kNoReplyRcpt | step::kNoReplyData |
    step::kNoReplyUnknown | step::kNoReplyEndOfHeader | step::kNoReplyBody;

// Header changes one filter may ask for in one message: far more than any filter makes, few
// enough that a broken one cannot make the message grow without end.
constexpr std::size_t kMaxHeaderEdits = 1000;
constexpr std::size_t kMaxRecipientEdits = 1000;

std::string_view name_of(Stage stage) {
  switch (stage) {
    case Stage::connect:
      return "connect";
    case Stage::helo:
      return "HELO";
    case Stage::mail:
      return "MAIL";
    case Stage::rcpt:
      return "RCPT";
    case Stage::data:
      return "DATA";
    case Stage::end_of_message:
      return "end of message";
    case Stage::end_of_header:
      return "end of header";
  }
  return "?";
}

}  // namespace

Client::Client(net::asio::any_io_executor executor, Address address, Timeouts timeouts)
    : socket_(executor), timer_(executor), address_(std::move(address)), timeouts_(timeouts) {}

Answer Client::fail(std::string why) {
  failed_ = true;
  open_ = false;
  in_message_ = false;
  net::error_code ignored;
  socket_.close(ignored);
  failure_ = fmt::format("milter {}: {}", address_.to_string(), why);
  return Answer{Decision::tempfail, std::nullopt, failure_};
}

void Client::arm(Clock::time_point until) {
  timed_out_ = false;
  timer_.expires_at(until);
  timer_.async_wait([this](net::error_code ec) {
    if (ec) return;  // disarmed (or the client is gone): `this` is not touched
    timed_out_ = true;
    net::error_code ignored;
    socket_.cancel(ignored);
  });
}

void Client::disarm() {
  timer_.cancel();
}

net::awaitable<bool> Client::send(std::string bytes, Clock::time_point until) {
  arm(until);
  auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(bytes), use_tuple);
  disarm();
  if (ec) {
    fail(timed_out_ ? "timed out sending" : fmt::format("sending: {}", ec.message()));
    co_return false;
  }
  co_return true;
}

net::awaitable<std::optional<Reply>> Client::receive(std::chrono::seconds timeout, Clock::time_point latest) {
  auto until = std::min(Clock::now() + timeout, latest);
  for (;;) {
    auto framed = frame(input_);
    if (auto* bad = std::get_if<BadPacket>(&framed)) {
      fail(bad->why);
      co_return std::nullopt;
    }
    if (auto* f = std::get_if<Framed>(&framed)) {
      input_.erase(0, f->size);
      auto parsed = parse_reply(f->packet);
      if (auto* bad = std::get_if<BadPacket>(&parsed)) {
        fail(bad->why);
        co_return std::nullopt;
      }
      auto& reply = std::get<Reply>(parsed);
      if (std::holds_alternative<Progress>(reply)) {  // smfi_progress: still working
        until = std::min(Clock::now() + timeout, latest);
        continue;
      }
      co_return std::move(reply);
    }
    char chunk[16384];
    arm(until);
    auto [ec, n] = co_await socket_.async_read_some(asio::buffer(chunk), use_tuple);
    disarm();
    if (ec) {
      fail(timed_out_ ? "timed out waiting for a reply" : fmt::format("reading: {}", ec.message()));
      co_return std::nullopt;
    }
    input_.append(chunk, n);
  }
}

void Client::send_macros(std::string& out, Stage stage, char for_command, const Macros& macros) const {
  if (macros.empty()) return;
  const auto& wanted = negotiated_.macros[static_cast<std::size_t>(stage)];
  if (!wanted) {
    out += macro_packet(for_command, macros);
    return;
  }
  Macros chosen;
  for (const auto& m : macros)
    for (const auto& name : *wanted)
      // Names are asked for with or without braces: "{auth_authen}" or "auth_authen".
      if (name == m.first || (m.first.size() > 2 && name == m.first.substr(1, m.first.size() - 2))) chosen.push_back(m);
  if (!chosen.empty()) out += macro_packet(for_command, chosen);
}

Answer Client::answer_of(const Reply& reply, std::string_view during) {
  if (const auto* v = std::get_if<Verdict>(&reply)) {
    auto decision = v->decision == Decision::skip ? Decision::proceed : v->decision;
    return Answer{decision, std::nullopt, {}};
  }
  if (const auto* r = std::get_if<CustomReply>(&reply))
    return Answer{r->code >= 500 ? Decision::reject : Decision::tempfail, *r, {}};
  return fail(fmt::format("answered {} with a request that only the end of a message may carry", during));
}

net::awaitable<Answer> Client::stage(Stage stage, char for_command, const Macros& macros, std::string bytes,
                                     std::uint32_t no_reply) {
  if (failed_) co_return Answer{Decision::tempfail, std::nullopt, failure_};
  std::string out;
  send_macros(out, stage, for_command, macros);
  out += bytes;
  auto latest = Clock::now() + timeouts_.command * 4;
  if (!co_await send(std::move(out), Clock::now() + timeouts_.command))
    co_return Answer{Decision::tempfail, std::nullopt, failure_};
  if (negotiated_.steps & no_reply) co_return Answer{};
  auto reply = co_await receive(timeouts_.command, latest);
  if (!reply) co_return Answer{Decision::tempfail, std::nullopt, failure_};
  co_return answer_of(*reply, name_of(stage));
}

net::awaitable<Answer> Client::open(std::uint32_t actions, std::string_view hostname, const Peer& peer,
                                    const Macros& macros) {
  arm(Clock::now() + timeouts_.connect);
  net::error_code ec;
  if (address_.host.empty()) {
    asio::local::stream_protocol::endpoint endpoint(address_.path);
    std::tie(ec) = co_await socket_.async_connect(endpoint, use_tuple);
  } else {
    // A name (a container's service name, "localhost") is looked up by the system's resolver
    // on Asio's own thread; the deadline covers it.
    net::tcp::resolver resolver(socket_.get_executor());
    auto service = std::to_string(address_.port);
    auto [rec, results] = co_await resolver.async_resolve(address_.host, service, use_tuple);
    ec = rec;
    if (!ec) {
      ec = asio::error::host_not_found;
      for (const auto& entry : results) {
        net::error_code ignored;
        socket_.close(ignored);
        std::tie(ec) = co_await socket_.async_connect(entry.endpoint(), use_tuple);
        if (!ec || timed_out_) break;
      }
    }
  }
  disarm();
  if (ec) co_return fail(timed_out_ ? "timed out connecting" : fmt::format("connecting: {}", ec.message()));
  open_ = true;
  // milter.connect_timeout covers the negotiation too, as Postfix's milter_connect_timeout does.
  auto options = options_packet(kVersion, actions, kOfferedSteps);
  if (!co_await send(std::move(options), Clock::now() + timeouts_.connect))
    co_return Answer{Decision::tempfail, std::nullopt, failure_};
  auto reply = co_await receive(timeouts_.connect, Clock::now() + timeouts_.connect);
  if (!reply) co_return Answer{Decision::tempfail, std::nullopt, failure_};
  auto* negotiated = std::get_if<Negotiated>(&*reply);
  if (!negotiated) co_return fail("did not answer the option negotiation");
  if (negotiated->version < 2) co_return fail(fmt::format("speaks protocol version {}", negotiated->version));
  if (negotiated->actions & ~actions)
    co_return fail(fmt::format("wants to make changes that are not offered (actions {:#x} of {:#x})",
                               negotiated->actions, actions));
  negotiated_ = std::move(*negotiated);
  negotiated_.steps &= kOfferedSteps;  // size flags (SMFIP_MDS_*) and others of no use to us
  if (skipped(step::kNoConnect)) co_return Answer{};
  auto bytes = connect_packet(hostname, peer);  // named: see "Coroutine rules" in docs/ARCHITECTURE.md
  co_return co_await stage(Stage::connect, command::kConnect, macros, std::move(bytes), step::kNoReplyConnect);
}

net::awaitable<Answer> Client::helo(std::string_view domain, const Macros& macros) {
  if (skipped(step::kNoHelo) && !failed_) co_return Answer{};
  std::vector<std::string> strings{std::string(domain)};
  auto bytes = strings_packet(command::kHelo, strings);
  co_return co_await stage(Stage::helo, command::kHelo, macros, std::move(bytes), step::kNoReplyHelo);
}

net::awaitable<Answer> Client::mail(const std::vector<std::string>& args, const Macros& macros) {
  if (in_message_) co_await abort();
  in_message_ = !failed_;
  if (skipped(step::kNoMail) && !failed_) co_return Answer{};
  auto bytes = strings_packet(command::kMail, args);
  co_return co_await stage(Stage::mail, command::kMail, macros, std::move(bytes), step::kNoReplyMail);
}

net::awaitable<Answer> Client::rcpt(const std::vector<std::string>& args, const Macros& macros) {
  if (skipped(step::kNoRcpt) && !failed_) co_return Answer{};
  auto bytes = strings_packet(command::kRcpt, args);
  co_return co_await stage(Stage::rcpt, command::kRcpt, macros, std::move(bytes), step::kNoReplyRcpt);
}

net::awaitable<std::optional<Reply>> Client::exchange(std::string bytes, bool reply, Clock::time_point latest) {
  auto until = std::min(Clock::now() + timeouts_.content, latest);
  bool sent = co_await send(std::move(bytes), until);
  std::optional<Reply> out;
  if (!sent) co_return out;
  if (!reply) {
    out = Verdict{Decision::proceed};
    co_return out;
  }
  out = co_await receive(timeouts_.content, latest);
  co_return out;
}

net::awaitable<MessageAnswer> Client::message(std::string_view message, const Macros& macros, std::size_t max_size) {
  MessageAnswer out;
  auto finish = [&](Answer a) {
    out.answer = std::move(a);
    return std::move(out);
  };
  if (failed_) co_return finish(Answer{Decision::tempfail, std::nullopt, failure_});
  // The content as a whole has its deadline; each reply within it the content timeout.
  auto latest = Clock::now() + timeouts_.content * 4;
  if (!skipped(step::kNoData)) {
    auto bytes = packet(command::kData, "");
    auto a = co_await stage(Stage::data, command::kData, macros, std::move(bytes), step::kNoReplyData);
    if (a.decision != Decision::proceed) co_return finish(std::move(a));
  }
  auto header_size = mime::header_end(message);
  if (!skipped(step::kNoHeaders)) {
    auto fields = header_fields(message.substr(0, header_size));  // named: see "Coroutine rules"
    for (const auto& [name, value] : fields) {
      auto bytes = header_packet(name, value);
      auto reply = co_await exchange(std::move(bytes), !skipped(step::kNoReplyHeader), latest);
      if (!reply) co_return finish(Answer{Decision::tempfail, std::nullopt, failure_});
      auto a = answer_of(*reply, "a header field");
      if (a.decision != Decision::proceed) co_return finish(std::move(a));
    }
  }
  if (!skipped(step::kNoEndOfHeader)) {
    auto bytes = packet(command::kEndOfHeader, "");
    auto reply = co_await exchange(std::move(bytes), !skipped(step::kNoReplyEndOfHeader), latest);
    if (!reply) co_return finish(Answer{Decision::tempfail, std::nullopt, failure_});
    auto a = answer_of(*reply, "the end of the header");
    if (a.decision != Decision::proceed) co_return finish(std::move(a));
  }
  if (!skipped(step::kNoBody)) {
    auto body = message.substr(header_size);
    for (std::size_t at = 0; at < body.size(); at += kBodyChunk) {
      // Asked for its reply, a filter may say SMFIR_SKIP: it has seen enough of the body.
      auto bytes = packet(command::kBody, body.substr(at, kBodyChunk));
      auto reply = co_await exchange(std::move(bytes), !skipped(step::kNoReplyBody), latest);
      if (!reply) co_return finish(Answer{Decision::tempfail, std::nullopt, failure_});
      if (auto* v = std::get_if<Verdict>(&*reply); v && v->decision == Decision::skip) break;
      auto a = answer_of(*reply, "a body chunk");
      if (a.decision != Decision::proceed) co_return finish(std::move(a));
    }
  }
  std::string end;
  send_macros(end, Stage::end_of_message, command::kEndOfBody, macros);
  end += packet(command::kEndOfBody, "");
  auto until = std::min(Clock::now() + timeouts_.content, latest);
  if (!co_await send(std::move(end), until)) co_return finish(Answer{Decision::tempfail, std::nullopt, failure_});
  // Changes first, then the verdict (libmilter sends them from the filter's xxfi_eom).
  for (;;) {
    auto reply = co_await receive(timeouts_.content, latest);
    if (!reply) co_return finish(Answer{Decision::tempfail, std::nullopt, failure_});
    auto allowed = [&](std::uint32_t action) { return (negotiated_.actions & action) != 0; };
    if (auto* add = std::get_if<AddHeader>(&*reply); add && allowed(action::kAddHeaders)) {
      out.edits.header.emplace_back(std::move(*add));
    } else if (auto* insert = std::get_if<InsertHeader>(&*reply); insert && allowed(action::kAddHeaders)) {
      out.edits.header.emplace_back(std::move(*insert));
    } else if (auto* change = std::get_if<ChangeHeader>(&*reply); change && allowed(action::kChangeHeaders)) {
      out.edits.header.emplace_back(std::move(*change));
    } else if (auto* body = std::get_if<ReplaceBody>(&*reply); body && allowed(action::kChangeBody)) {
      if (!out.edits.body) out.edits.body.emplace();
      if (out.edits.body->size() + body->chunk.size() > max_size)
        co_return finish(fail(fmt::format("replaced the body with more than {} bytes", max_size)));
      out.edits.body->append(body->chunk);
    } else if (auto* rcpt = std::get_if<AddRecipient>(&*reply); rcpt && allowed(action::kAddRecipient)) {
      out.edits.added_recipients.push_back(std::move(rcpt->address));
    } else if (auto* del = std::get_if<DeleteRecipient>(&*reply); del && allowed(action::kDeleteRecipient)) {
      out.edits.deleted_recipients.push_back(std::move(del->address));
    } else if (auto* q = std::get_if<Quarantine>(&*reply); q && allowed(action::kQuarantine)) {
      out.quarantine = std::move(q->reason);
    } else if (std::holds_alternative<Verdict>(*reply) || std::holds_alternative<CustomReply>(*reply)) {
      in_message_ = false;
      auto a = answer_of(*reply, "the end of the message");
      if (a.decision == Decision::accept) a.decision = Decision::proceed;  // at the end, both mean "deliver"
      co_return finish(std::move(a));
    } else {
      co_return finish(fail("sent a change it did not negotiate, or a reply out of place"));
    }
    if (out.edits.added_recipients.size() + out.edits.deleted_recipients.size() > kMaxRecipientEdits)
      co_return finish(fail(fmt::format("changed more than {} recipients", kMaxRecipientEdits)));
    if (out.edits.header.size() > kMaxHeaderEdits)
      co_return finish(fail(fmt::format("asked for more than {} header changes", kMaxHeaderEdits)));
  }
}

net::awaitable<void> Client::abort() {
  if (!open_ || failed_ || !in_message_) co_return;
  in_message_ = false;
  auto bytes = packet(command::kAbort, "");
  co_await send(std::move(bytes), Clock::now() + timeouts_.command);
}

net::awaitable<void> Client::quit() {
  if (!open_ || failed_) co_return;
  auto bytes = packet(command::kQuit, "");
  co_await send(std::move(bytes), Clock::now() + timeouts_.command);
  open_ = false;
  net::error_code ignored;
  socket_.close(ignored);
}

}  // namespace mailstead::milter
