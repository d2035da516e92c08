#include "smtpd/outbound/client.hpp"

#include <fmt/format.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "common/sasl/base64.hpp"
#include "common/text/ascii.hpp"
#include "common/text/dot_stuffing.hpp"

namespace mailstead::outbound {
namespace {

namespace asio = net::asio;
using net::use_tuple;

constexpr std::size_t kMaxReplyLine = 4096;
constexpr std::size_t kMaxReplyLines = 200;

}  // namespace

class SmtpConnection::Impl {
 public:
  Impl(asio::any_io_executor executor, std::shared_ptr<net::ssl::context> tls, ClientOptions options)
      : tls_context_(std::move(tls)),
        stream_(executor, *tls_context_),
        timer_(executor),
        options_(std::move(options)) {}

  net::awaitable<std::optional<SessionFailure>> open(net::tcp::endpoint server) {
    start_budget();
    server_ = fmt::format("{}[{}]", options_.server_name, server.address().to_string());
    auto failed = co_await connect(server);
    if (failed) co_return failed;
    co_return co_await handshake_and_greet();
  }

  net::awaitable<SessionOutcome> send(const Envelope& envelope, std::string_view message) {
    start_budget();
    SessionOutcome outcome;
    auto refused_up_front = co_await check_capabilities(envelope, message.size());
    if (refused_up_front) {
      outcome.failure = std::move(refused_up_front);
      co_return outcome;
    }
    outcome.tls = tls_;
    bool clean = co_await transaction(envelope, message, outcome);
    ++sent_;
    if (!clean && !broken_) {  // the server still holds a half transaction: end it for the next message
      auto ec = co_await write("RSET\r\n", options_.command_timeout);
      if (ec) co_return outcome;
      auto reset = co_await read_reply(options_.command_timeout, "RSET");
      if (!reset || reset->code != 250) broken_ = true;
    }
    co_return outcome;
  }

  net::awaitable<void> quit() {
    if (broken_) co_return;
    auto ec = co_await write("QUIT\r\n", std::chrono::seconds(10));
    if (ec) co_return;
    auto reply = co_await read_reply(std::chrono::seconds(10), "QUIT");  // named: see "Coroutine rules"
    broken_ = true;
    if (!reply) co_return;
  }

  bool reusable() const { return !broken_; }
  std::size_t sent() const { return sent_; }

 private:
  // --- transport -------------------------------------------------------------------------

  // The whole of one attempt (connecting and greeting, or one message) has a budget besides
  // each step's timeout: a server that answers a byte every few minutes resets no timer and
  // keeps a delivery slot no longer than that.
  void start_budget() { budget_ends_ = std::chrono::steady_clock::now() + options_.attempt_timeout; }

  void arm(std::chrono::seconds timeout) { arm_until(std::chrono::steady_clock::now() + timeout); }
  void arm_until(std::chrono::steady_clock::time_point until) {
    timer_.expires_at(std::min(until, budget_ends_));
    timer_.async_wait([this](net::error_code ec) {
      if (ec) return;
      timed_out_ = true;
      net::error_code ignored;
      stream_.lowest_layer().cancel(ignored);
    });
  }
  void disarm() { timer_.cancel(); }

  SessionFailure lost(std::string_view during, const net::error_code& ec) {
    broken_ = true;
    auto what = timed_out_ ? std::string("timed out") : ec.message();
    return {smtp::Reply{0, "", {}}, true, fmt::format("{} during {}: {}", server_, during, what)};
  }

  net::awaitable<std::optional<SessionFailure>> connect(net::tcp::endpoint server) {
    arm(options_.connect_timeout);
    auto [ec] = co_await stream_.lowest_layer().async_connect(server, use_tuple);
    disarm();
    if (ec) co_return lost("connect", ec);
    co_return std::nullopt;
  }

  net::awaitable<net::error_code> write(std::string_view data, std::chrono::seconds timeout) {
    arm(timeout);
    net::error_code ec;
    std::size_t n = 0;
    if (tls_)
      std::tie(ec, n) = co_await asio::async_write(stream_, asio::buffer(data), use_tuple);
    else
      std::tie(ec, n) = co_await asio::async_write(stream_.next_layer(), asio::buffer(data), use_tuple);
    disarm();
    co_return ec;
  }

  // One whole reply; nullopt (with `failure_`) when the connection failed or the server
  // sent something that is not a reply.
  net::awaitable<std::optional<smtp::Reply>> read_reply(std::chrono::seconds timeout, std::string_view during) {
    // The timeout is for the whole reply (RFC 5321 §4.5.3.2), not for each piece of it.
    const auto until = std::chrono::steady_clock::now() + timeout;
    smtp::ReplyAssembler assembler;
    for (std::size_t lines = 0; lines < kMaxReplyLines; ++lines) {
      std::size_t eol;
      while ((eol = input_.find("\r\n")) == std::string::npos) {
        if (input_.size() > kMaxReplyLine) {
          broken_ = true;
          failure_ = {smtp::Reply{0, "", {}}, true,
                      fmt::format("{} sent an over-long line during {}", server_, during)};
          co_return std::nullopt;
        }
        char chunk[8192];
        arm_until(until);
        net::error_code ec;
        std::size_t n = 0;
        if (tls_)
          std::tie(ec, n) = co_await stream_.async_read_some(asio::buffer(chunk), use_tuple);
        else
          std::tie(ec, n) = co_await stream_.next_layer().async_read_some(asio::buffer(chunk), use_tuple);
        disarm();
        if (ec) {
          failure_ = lost(during, ec);
          co_return std::nullopt;
        }
        input_.append(chunk, n);
      }
      auto line = input_.substr(0, eol);
      input_.erase(0, eol + 2);
      auto status = assembler.add(line);
      if (status == smtp::ReplyAssembler::Status::done) co_return assembler.take();
      if (status == smtp::ReplyAssembler::Status::malformed) break;
    }
    broken_ = true;
    failure_ = {smtp::Reply{0, "", {}}, true, fmt::format("{} sent no valid SMTP reply during {}", server_, during)};
    co_return std::nullopt;
  }

  // A reply that ends the session: its text for the queue, and whether another server may help.
  SessionFailure refused(const smtp::Reply& r, std::string_view during, bool try_elsewhere) {
    return {r, try_elsewhere, fmt::format("{} said: {} during {}", server_, r.one_line(), during)};
  }

  // --- session -----------------------------------------------------------------------------

  net::awaitable<std::optional<SessionFailure>> handshake_and_greet() {
    if (options_.tls == TlsMode::implicit)
      if (auto failed = co_await tls_handshake()) co_return failed;
    auto greeting = co_await read_reply(options_.command_timeout, "the greeting");
    if (!greeting) co_return failure_;
    if (greeting->code != 220) co_return refused(*greeting, "the greeting", true);  // RFC 5321 §3.1: try the next MX
    if (auto failed = co_await ehlo()) co_return failed;
    if (!tls_ && options_.tls != TlsMode::implicit) {
      bool offered = has("STARTTLS");
      if (!offered && options_.tls == TlsMode::required)
        co_return SessionFailure{smtp::Reply{0, "", {}}, true,
                                 fmt::format("{} does not offer STARTTLS, and TLS is required", server_)};
      if (offered) {
        if (auto ec = co_await write("STARTTLS\r\n", options_.command_timeout)) co_return lost("STARTTLS", ec);
        auto ready = co_await read_reply(options_.command_timeout, "STARTTLS");
        if (!ready) co_return failure_;
        if (ready->code != 220) {
          if (options_.tls == TlsMode::required) co_return refused(*ready, "STARTTLS", true);
        } else {
          if (auto failed = co_await tls_handshake()) co_return failed;
          if (auto failed = co_await ehlo()) co_return failed;  // RFC 3207 §4.2: start over
        }
      }
    }
    if (!options_.auth_user.empty()) co_return co_await authenticate();
    co_return std::nullopt;
  }

  net::awaitable<std::optional<SessionFailure>> tls_handshake() {
    SSL* ssl = stream_.native_handle();
    // SSL_set_tlsext_host_name is a macro with an old-style cast; this is what it expands to.
    SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
             const_cast<char*>(options_.server_name.c_str()));
    if (options_.verify_certificate) {
      stream_.set_verify_mode(net::ssl::verify_peer);
      SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      SSL_set1_host(ssl, options_.server_name.c_str());
    } else {
      stream_.set_verify_mode(net::ssl::verify_none);
    }
    input_.clear();
    arm(options_.command_timeout);
    auto [ec] = co_await stream_.async_handshake(net::ssl::stream_base::client, use_tuple);
    disarm();
    if (ec) co_return lost("the TLS handshake", ec);
    tls_ = true;
    co_return std::nullopt;
  }

  net::awaitable<std::optional<SessionFailure>> ehlo() {
    if (auto ec = co_await write(fmt::format("EHLO {}\r\n", options_.helo), options_.command_timeout))
      co_return lost("EHLO", ec);
    auto reply = co_await read_reply(options_.command_timeout, "EHLO");
    if (!reply) co_return failure_;
    extensions_.clear();
    if (reply->code == 250) {
      for (std::size_t i = 1; i < reply->lines.size(); ++i) extensions_.push_back(text::upper_ascii(reply->lines[i]));
      co_return std::nullopt;
    }
    // An old server without ESMTP: HELO, and no extensions at all.
    if (auto ec = co_await write(fmt::format("HELO {}\r\n", options_.helo), options_.command_timeout))
      co_return lost("HELO", ec);
    auto helo = co_await read_reply(options_.command_timeout, "HELO");
    if (!helo) co_return failure_;
    if (helo->code != 250) co_return refused(*helo, "HELO", true);
    co_return std::nullopt;
  }

  net::awaitable<std::optional<SessionFailure>> authenticate() {
    if (!tls_)
      co_return SessionFailure{smtp::Reply{0, "", {}}, false,
                               fmt::format("{}: no TLS, so the password is not sent", server_)};
    std::string plain;
    plain += '\0';
    plain += options_.auth_user;
    plain += '\0';
    plain += options_.auth_password;
    if (auto ec =
            co_await write(fmt::format("AUTH PLAIN {}\r\n", sasl::base64_encode(plain)), options_.command_timeout))
      co_return lost("AUTH", ec);
    auto reply = co_await read_reply(options_.command_timeout, "AUTH");
    if (!reply) co_return failure_;
    if (reply->code != 235) co_return refused(*reply, "AUTH", false);
    co_return std::nullopt;
  }

  net::awaitable<std::optional<SessionFailure>> check_capabilities(const Envelope& envelope, std::size_t size) {
    if (envelope.smtputf8 && !has("SMTPUTF8"))
      co_return SessionFailure{smtp::Reply{553, "5.6.7", {}}, false,
                               fmt::format("{} does not support SMTPUTF8, which this message needs", server_)};
    for (const auto& e : extensions_) {
      if (!e.starts_with("SIZE ")) continue;
      auto limit = std::strtoull(e.c_str() + 5, nullptr, 10);
      if (limit > 0 && size > limit)
        co_return SessionFailure{smtp::Reply{552, "5.3.4", {}}, false,
                                 fmt::format("{} accepts at most {} bytes; the message has {}", server_, limit, size)};
    }
    co_return std::nullopt;
  }

  // True when the server is out of the transaction again (the final reply came, or MAIL was
  // refused); false when an RSET is due before the connection can carry another message.
  net::awaitable<bool> transaction(const Envelope& envelope, std::string_view message, SessionOutcome& outcome) {
    std::string mail = fmt::format("MAIL FROM:<{}>", envelope.sender);
    if (has("SIZE")) mail += fmt::format(" SIZE={}", message.size());
    if (envelope.eight_bit && has("8BITMIME")) mail += " BODY=8BITMIME";
    if (envelope.smtputf8) mail += " SMTPUTF8";
    mail += "\r\n";
    std::vector<std::string> commands{mail};
    for (const auto& r : envelope.recipients) commands.push_back(fmt::format("RCPT TO:<{}>\r\n", r));
    commands.push_back("DATA\r\n");
    bool pipelining = has("PIPELINING");

    // Without PIPELINING each command waits for its reply; with it, all go in one write and
    // the replies are read in order (RFC 2920).
    std::vector<smtp::Reply> replies;
    if (pipelining) {
      std::string all;
      for (const auto& c : commands) all += c;
      if (auto ec = co_await write(all, options_.command_timeout)) {
        outcome.failure = lost("MAIL", ec);
        co_return false;
      }
    }
    for (std::size_t i = 0; i < commands.size(); ++i) {
      bool is_data = i + 1 == commands.size();
      if (!pipelining) {
        if (is_data && !any_accepted(replies)) break;  // nobody to send it to
        if (i > 0 && !replies[0].positive()) break;
        if (auto ec = co_await write(commands[i], options_.command_timeout)) {
          outcome.failure = lost(i == 0 ? "MAIL" : is_data ? "DATA" : "RCPT", ec);
          co_return false;
        }
      }
      auto r = co_await read_reply(options_.command_timeout, i == 0 ? "MAIL" : is_data ? "DATA" : "RCPT");
      if (!r) {
        outcome.failure = failure_;
        co_return false;
      }
      replies.push_back(std::move(*r));
    }
    if (!replies[0].positive()) {
      // A 4xx to MAIL is this server's trouble (busy, greylisting at connect level): another MX may
      // take the message now. A 5xx is the answer for the message.
      outcome.failure = refused(replies[0], "MAIL FROM", !replies[0].permanent());
      co_return true;  // no transaction was opened
    }
    auto answered = static_cast<std::ptrdiff_t>(std::min(envelope.recipients.size(), replies.size() - 1));
    outcome.recipients.assign(replies.begin() + 1, replies.begin() + 1 + answered);
    outcome.recipients.resize(envelope.recipients.size(), smtp::Reply{0, "", {}});
    if (!any_accepted(replies) || replies.size() < commands.size() || replies.back().code != 354) {
      if (any_accepted(replies) && replies.size() == commands.size()) {  // DATA refused: it answers for all
        for (auto& r : outcome.recipients)
          if (r.positive()) r = replies.back();
      }
      co_return false;
    }
    std::string data;
    text::append_dot_stuffed_message(data, message);
    outcome.data_sent = true;
    if (auto ec = co_await write(data, options_.data_timeout)) {
      outcome.failure = lost("the message data", ec);
      outcome.recipients.clear();
      co_return false;
    }
    auto final_reply = co_await read_reply(options_.data_timeout, "the end of data");
    if (!final_reply) {
      outcome.failure = failure_;
      outcome.recipients.clear();
      co_return false;
    }
    for (auto& r : outcome.recipients)
      if (r.positive()) r = *final_reply;
    co_return true;
  }

  static bool any_accepted(const std::vector<smtp::Reply>& replies) {
    for (std::size_t i = 1; i < replies.size(); ++i)
      if (replies[i].positive()) return true;
    return false;
  }

  bool has(std::string_view keyword) const {
    for (const auto& e : extensions_)
      if (e == keyword || (e.starts_with(keyword) && e.size() > keyword.size() && e[keyword.size()] == ' '))
        return true;
    return false;
  }

  std::shared_ptr<net::ssl::context> tls_context_;
  net::ssl::stream<net::tcp::socket> stream_;
  asio::steady_timer timer_;
  std::chrono::steady_clock::time_point budget_ends_ = std::chrono::steady_clock::time_point::max();
  ClientOptions options_;
  std::string server_;
  std::string input_;
  std::vector<std::string> extensions_;
  std::optional<SessionFailure> failure_;
  bool tls_ = false;
  bool timed_out_ = false;
  bool broken_ = false;  // the connection cannot carry another message
  std::size_t sent_ = 0;
};

SmtpConnection::SmtpConnection(asio::any_io_executor executor, std::shared_ptr<net::ssl::context> tls,
                               ClientOptions options)
    : impl_(std::make_unique<Impl>(std::move(executor), std::move(tls), std::move(options))) {}
SmtpConnection::~SmtpConnection() = default;

net::awaitable<std::optional<SessionFailure>> SmtpConnection::open(net::tcp::endpoint server) {
  co_return co_await impl_->open(server);
}
net::awaitable<SessionOutcome> SmtpConnection::send(const Envelope& envelope, std::string_view message) {
  co_return co_await impl_->send(envelope, message);
}
net::awaitable<void> SmtpConnection::quit() {
  co_await impl_->quit();
}
bool SmtpConnection::reusable() const {
  return impl_->reusable();
}
std::size_t SmtpConnection::messages_sent() const {
  return impl_->sent();
}

net::awaitable<SessionOutcome> send_message(asio::any_io_executor executor, net::tcp::endpoint server,
                                            std::shared_ptr<net::ssl::context> tls_context, ClientOptions options,
                                            const Envelope& envelope, std::string_view message) {
  SmtpConnection connection(executor, std::move(tls_context), std::move(options));
  SessionOutcome outcome;
  auto failed = co_await connection.open(server);
  if (failed) {
    outcome.failure = std::move(failed);
    co_return outcome;
  }
  outcome = co_await connection.send(envelope, message);
  co_await connection.quit();
  co_return outcome;
}

std::shared_ptr<net::ssl::context> make_client_tls_context() {
  auto ctx = std::make_shared<net::ssl::context>(net::ssl::context::tls_client);
  ctx->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 | net::ssl::context::no_sslv3 |
                   net::ssl::context::no_tlsv1 | net::ssl::context::no_tlsv1_1 | net::ssl::context::no_compression);
  ctx->set_default_verify_paths();
  return ctx;
}

}  // namespace mailstead::outbound
