// mailstead-smtpd: inbound SMTP (25), submission (587 STARTTLS, 465 implicit TLS), local
// delivery into the mail store, and the queue runner that sends mail to other domains.
//
// usage: mailstead-smtpd [-c FILE]   (start-up order: session/daemon.hpp)

#include <openssl/rand.h>

#include <array>
#include <memory>
#include <stdexcept>

#include "common/config/cidr.hpp"
#include "common/dns/resolver.hpp"
#include "session/daemon.hpp"
#include "session/maintenance.hpp"
#include "smtpd/outbound/runner.hpp"
#include "smtpd/proto/reply.hpp"
#include "smtpd/session.hpp"
#include "storage/secrets.hpp"

using namespace mailstead;

namespace {

std::string refusal(net::Refusal r) {
  switch (r) {
    case net::Refusal::too_many_from_client:
      return smtp::reply(smtp::status::kClosingPolicy, "Too many connections from your address, try later").serialize();
    case net::Refusal::too_fast_from_client:
      return smtp::reply(smtp::status::kClosingPolicy, "Connecting too fast from your address, slow down").serialize();
    case net::Refusal::too_many_connections:
      break;
  }
  return smtp::reply(smtp::status::kClosingPolicy, "Too many connections, try later").serialize();
}

// The SRS key: made once (32 random bytes) and kept in the store, so that bounces to addresses
// rewritten before a restart, or by another node, still check.
std::string srs_secret(const session::Services& services) {
  if (!services.config.srs.enabled) return {};
  std::array<unsigned char, 32> candidate{};
  if (RAND_bytes(candidate.data(), static_cast<int>(candidate.size())) != 1)
    throw std::runtime_error("no random bytes for the SRS secret");
  auto txn = services.store.write();
  auto secret = storage::server_secret(
      txn, "srs", std::string_view(reinterpret_cast<const char*>(candidate.data()), candidate.size()));
  txn.commit();
  return secret;
}

}  // namespace

int main(int argc, char** argv) {
  std::unique_ptr<smtp::SmtpContext> context;  // set by `ready`, before the first connection
  session::DaemonSpec spec;
  spec.name = "smtpd";
  spec.purpose = "Serves SMTP: inbound mail, submission, local delivery";
  spec.listen = [&context](net::Server& server, const config::Config& cfg) {
    auto handler = [&context](smtp::Port port) {
      return [&context, port](net::Connection& c) { return smtp::serve_smtp(c, *context, port); };
    };
    auto line = static_cast<std::size_t>(cfg.smtpd.max_line_length);
    for (const auto& e : cfg.smtpd.listen) server.listen({"smtp", e, false, line, handler(smtp::Port::mx), refusal});
    for (const auto& e : cfg.smtpd.submission_listen)
      server.listen({"submission", e, false, line, handler(smtp::Port::submission), refusal});
    for (const auto& e : cfg.smtpd.submissions_listen)
      server.listen({"submissions", e, true, line, handler(smtp::Port::submissions), refusal});
    server.listen_local({"local", {}, false, line, handler(smtp::Port::local), refusal},
                        cfg.smtpd.local_socket.string());
  };
  std::unique_ptr<outbound::QueueRunner> runner;
  std::unique_ptr<session::StoreMaintenance> maintenance;
  spec.ready = [&context, &runner, &maintenance](const session::Services& services, net::Server& server) {
    std::vector<config::Cidr> trusted;
    for (const auto& n : services.config.smtpd.trusted_networks) trusted.push_back(*config::parse_cidr(n));
    const auto& dns = services.config.dns;
    auto dns_cache = std::make_shared<dns::Cache>(dns.cache_entries, dns.max_ttl);
    runner = std::make_unique<outbound::QueueRunner>(services, server.io(), dns_cache);
    auto* queue = runner.get();
    auto resolver =
        std::make_shared<dns::SharedResolver>(server.io(), dns::server_list(dns.servers), dns.timeout, dns_cache);
    server.on_shutdown([resolver] { resolver->cancel(); });
    context = std::make_unique<smtp::SmtpContext>(
        smtp::SmtpContext{services, std::move(trusted), [queue] { queue->wake(); },
                          std::make_shared<smtp::DkimSigning>(services.config.dkim), resolver, srs_secret(services)});
    server.on_shutdown([queue] { queue->stop(); });
    runner->start();
    maintenance = std::make_unique<session::StoreMaintenance>(services, server.io());
    server.on_shutdown([m = maintenance.get()] { m->stop(); });
    maintenance->start();
  };
  spec.finished = [&context, &runner, &maintenance] {
    maintenance.reset();
    runner.reset();
    context.reset();
  };
  return session::run_daemon(argc, argv, spec);
}
