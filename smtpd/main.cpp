// mailstead-smtpd: inbound SMTP (25), submission (587 STARTTLS, 465 implicit TLS) and local
// delivery into the mail store. Mail for other domains is queued for the outbound runner.
//
// usage: mailstead-smtpd [-c FILE]
// Order of start: config (refuse on any error) -> TLS context -> bind every listener (as
// root) -> drop to server.user -> open the store -> serve until SIGTERM/SIGINT.

#include <cstdlib>
#include <iostream>
#include <string>

#include <fmt/format.h>

#include "common/config/cidr.hpp"
#include "common/config/config.hpp"
#include "common/log/log.hpp"
#include "common/net/password_pool.hpp"
#include "common/net/privileges.hpp"
#include "common/net/server.hpp"
#include "common/net/tls.hpp"
#include "common/version.hpp"
#include "smtpd/proto/reply.hpp"
#include "smtpd/session.hpp"
#include "storage/group_commit.hpp"

using namespace mailstead;

namespace {

std::string config_path(int argc, char** argv) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::string_view(argv[i]) == "-c" || std::string_view(argv[i]) == "--config") return argv[i + 1];
  if (const char* env = std::getenv("MAILSTEAD_CONFIG"); env && *env) return env;  // NOLINT(concurrency-mt-unsafe)
  return std::string(config::kDefaultConfigPath);
}

std::string refusal(net::Refusal r) {
  switch (r) {
    case net::Refusal::too_many_from_client:
      return smtp::reply(421, "4.7.0", "Too many connections from your address, try later").serialize();
    case net::Refusal::too_fast_from_client:
      return smtp::reply(421, "4.7.0", "Connecting too fast from your address, slow down").serialize();
    case net::Refusal::too_many_connections: break;
  }
  return smtp::reply(421, "4.7.0", "Too many connections, try later").serialize();
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--version") return std::printf("mailstead-smtpd %s\n", kVersion), 0;
    if (a == "-h" || a == "--help")
      return std::printf("usage: mailstead-smtpd [-c FILE]\nServes SMTP as configured in FILE (default %s).\n",
                         std::string(config::kDefaultConfigPath).c_str()),
             0;
  }
  auto path = config_path(argc, argv);
  auto loaded = config::load_config_file(path);
  for (const auto& e : loaded.errors) std::fprintf(stderr, "%s\n", e.to_string().c_str());
  if (!loaded.config) return 1;
  const auto& cfg = *loaded.config;
  log::init("smtpd", cfg.log.level);
  try {
    auto tls = net::make_server_tls_context(cfg.tls);
    net::Server server(cfg, tls);
    std::vector<config::Cidr> trusted;
    for (const auto& n : cfg.smtpd.trusted_networks) trusted.push_back(*config::parse_cidr(n));
    // The handlers need the store, which is opened after the privilege drop; they reach it
    // through this pointer, set before the server starts accepting.
    std::unique_ptr<smtp::SmtpContext> context;
    auto handler = [&context](smtp::Port port) {
      return [&context, port](net::Connection& c) { return smtp::serve_smtp(c, *context, port); };
    };
    auto line = static_cast<std::size_t>(cfg.smtpd.max_line_length);
    for (const auto& e : cfg.smtpd.listen) server.listen({"smtp", e, false, line, handler(smtp::Port::mx), refusal});
    for (const auto& e : cfg.smtpd.submission_listen)
      server.listen({"submission", e, false, line, handler(smtp::Port::submission), refusal});
    for (const auto& e : cfg.smtpd.submissions_listen)
      server.listen({"submissions", e, true, line, handler(smtp::Port::submissions), refusal});
    net::drop_privileges(cfg.server.user, cfg.server.group);
    auto store = storage::Store::open(storage::store_options(cfg));
    storage::GroupCommitter committer(*store);
    net::PasswordPool passwords(cfg.auth.hash_threads);
    context = std::make_unique<smtp::SmtpContext>(smtp::SmtpContext{cfg, *store, committer, passwords, trusted});
    log::info("-", "started", "version={} config={}", kVersion, log::quoted(path));
    std::string ports;
    for (const auto& e : server.bound_endpoints()) ports += fmt::format(" {}", e.port());
    std::cout << "ready" << ports << std::endl;
    server.run(cfg.server.threads);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mailstead-smtpd: %s\n", e.what());
    return 1;
  }
  return 0;
}
