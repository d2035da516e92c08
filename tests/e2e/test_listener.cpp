// mailstead-test-listener: a small line protocol served through common/net exactly as the
// daemons will be, so that end-to-end tests can exercise listeners, TLS, STARTTLS, the line
// reader, limits, timeouts, SASL with password verification, privilege drop and shutdown
// with real clients. A test fixture only; it is not installed.
//
// usage: mailstead-test-listener -c CONFIG [--hash-file FILE] [--idle SECONDS]
// Listens on imapd.listen (plain, STARTTLS) and imapd.tls_listen (implicit TLS) of CONFIG and
// prints "ready <port> <port> ..." once bound. Commands, one per line:
//   STARTTLS            "OK begin TLS", then the handshake
//   TLS                 "TLS none" or "TLS <version> <cipher>"
//   AUTH <MECH> [<ir>]  SASL; checks the password of any user against the hash in FILE
//   WHOAMI              "UID <uid>"
//   QUIT                "BYE", then close
//   anything else       "ECHO <line>"
// Errors: "ERR line too long", "ERR bare LF", "ERR bare CR". On idle timeout "BYE timeout",
// on shutdown "BYE shutting down".

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>

#include "common/config/config.hpp"
#include "common/log/log.hpp"
#include "common/net/password_pool.hpp"
#include "common/net/privileges.hpp"
#include "common/net/server.hpp"
#include "common/net/tls.hpp"
#include "common/sasl/sasl.hpp"

using namespace mailstead;
using namespace std::chrono_literals;
using net::awaitable;

namespace {

struct Context {
  net::PasswordPool* passwords = nullptr;
  std::string hash;
  std::chrono::seconds idle{30};
};

awaitable<void> send(net::Connection& c, std::string_view text) {
  co_await c.write(fmt::format("{}\r\n", text), 30s);
}

awaitable<void> authenticate(net::Connection& c, const Context& ctx, std::string_view args) {
  auto space = args.find(' ');
  auto mechanism = sasl::parse_mechanism(args.substr(0, space));
  if (!mechanism) co_return co_await send(c, "NO unsupported mechanism");
  sasl::ServerExchange exchange(*mechanism);
  std::optional<std::string_view> initial;
  if (space != std::string_view::npos) initial = args.substr(space + 1);
  auto step = exchange.start(initial);
  while (auto* challenge = std::get_if<sasl::Challenge>(&step)) {
    co_await send(c, fmt::format("+ {}", challenge->base64));
    auto line = co_await c.read_line(60s);
    auto* text = std::get_if<io::Line>(&line);
    if (!text) co_return;
    step = exchange.respond(text->text);
  }
  if (auto* failed = std::get_if<sasl::Failed>(&step))
    co_return co_await send(c, fmt::format("BAD {}", to_string(failed->reason)));
  auto& credentials = std::get<sasl::Success>(step).credentials;
  log::info(c.session_id(), "auth_attempt", "user={} password={}", log::quoted(credentials.authcid),
            credentials.password);
  auto verdict = co_await ctx.passwords->verify(std::move(credentials.password), ctx.hash);
  co_await send(c, verdict == auth::Verdict::match ? "OK authenticated" : "NO authentication failed");
}

awaitable<void> session(net::Connection& c, const Context& ctx) {
  co_await send(c, "* test listener ready");
  for (;;) {
    auto result = co_await c.read_line(ctx.idle);
    if (auto* closed = std::get_if<net::Closed>(&result)) {
      if (closed->why == net::ReadStatus::timed_out) co_await send(c, "BYE timeout");
      if (closed->why == net::ReadStatus::shutdown) co_await send(c, "BYE shutting down");
      co_return;
    }
    if (std::holds_alternative<io::LineTooLong>(result)) {
      co_await send(c, "ERR line too long");
      continue;
    }
    auto line = std::get<io::Line>(result);
    if (line.bare_lf) {
      co_await send(c, "ERR bare LF");
      continue;
    }
    if (line.bare_cr) {
      co_await send(c, "ERR bare CR");
      continue;
    }
    std::string text(line.text);
    if (text == "QUIT") co_return co_await send(c, "BYE");
    if (text == "TLS") {
      co_await send(c, fmt::format("TLS {}", c.tls_description()));
    } else if (text == "WHOAMI") {
      co_await send(c, fmt::format("UID {}", getuid()));
    } else if (text == "STARTTLS") {
      if (c.is_tls()) {
        co_await send(c, "ERR already TLS");
        continue;
      }
      co_await send(c, "OK begin TLS");
      if (co_await c.start_tls(10s)) co_return;
    } else if (text.starts_with("AUTH ")) {
      co_await authenticate(c, ctx, std::string_view(text).substr(5));
    } else {
      co_await send(c, fmt::format("ECHO {}", text));
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path, hash_file;
  int ctx_idle = 30;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string_view flag = argv[i];
    if (flag == "-c")
      config_path = argv[i + 1];
    else if (flag == "--hash-file")
      hash_file = argv[i + 1];
    else if (flag == "--idle")
      ctx_idle = std::stoi(argv[i + 1]);
  }
  auto loaded = config::load_config_file(config_path);
  for (const auto& e : loaded.errors) std::fprintf(stderr, "%s\n", e.to_string().c_str());
  if (!loaded.config) return 1;
  const auto& cfg = *loaded.config;
  log::init("test-listener", cfg.log.level);
  Context ctx;
  ctx.idle = std::chrono::seconds(ctx_idle);
  if (!hash_file.empty()) std::getline(std::ifstream(hash_file), ctx.hash);
  try {
    auto tls = net::make_server_tls_context(cfg.tls);
    net::PasswordPool passwords(cfg.auth.hash_threads);
    ctx.passwords = &passwords;
    net::Server server(cfg, tls);
    auto handler = [&ctx](net::Connection& c) { return session(c, ctx); };
    auto refusal = [](net::Refusal r) { return fmt::format("BYE {}\r\n", net::to_string(r)); };
    for (const auto& e : cfg.imapd.listen) server.listen({"plain", e, false, 128, handler, refusal});
    for (const auto& e : cfg.imapd.tls_listen) server.listen({"tls", e, true, 128, handler, refusal});
    net::drop_privileges(cfg.server.user, cfg.server.group);
    std::string ports;
    for (const auto& e : server.bound_endpoints()) ports += fmt::format(" {}", e.port());
    std::cout << "ready" << ports << std::endl;
    server.run(cfg.server.threads);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "test-listener: %s\n", e.what());
    return 1;
  }
  return 0;
}
