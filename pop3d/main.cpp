// mailstead-pop3d: POP3 on each user's INBOX (110 with STLS, 995 over TLS).
//
// usage: mailstead-pop3d [-c FILE]   (start-up order: session/daemon.hpp)

#include <memory>

#include "pop3d/proto/response.hpp"
#include "pop3d/session.hpp"
#include "session/daemon.hpp"

using namespace mailstead;

namespace {

// POP3 commands are short; SASL responses (base64 of a long password) are the longest lines.

std::string refusal(net::Refusal r) {
  switch (r) {
    case net::Refusal::too_many_from_client:
      return pop3::err("Too many connections from your address, try later", pop3::Code::sys_temp);
    case net::Refusal::too_fast_from_client:
      return pop3::err("Connecting too fast from your address, slow down", pop3::Code::sys_temp);
    case net::Refusal::too_many_connections:
      break;
  }
  return pop3::err("Too many connections, try later", pop3::Code::sys_temp);
}

}  // namespace

int main(int argc, char** argv) {
  pop3::MaildropLocks locks;
  std::unique_ptr<pop3::Pop3Context> context;  // set by `ready`, before the first connection
  session::DaemonSpec spec;
  spec.name = "pop3d";
  spec.purpose = "Serves POP3 on each user's INBOX";
  spec.listen = [&context](net::Server& server, const config::Config& cfg) {
    net::SessionHandler handler = [&context](net::Connection& c) { return pop3::serve_pop3(c, *context); };
    std::size_t line = cfg.pop3d.max_line_length;
    for (const auto& e : cfg.pop3d.listen) server.listen({"pop3", e, false, line, handler, refusal});
    for (const auto& e : cfg.pop3d.tls_listen) server.listen({"pop3s", e, true, line, handler, refusal});
  };
  spec.ready = [&context, &locks](const session::Services& services, net::Server&) {
    context = std::make_unique<pop3::Pop3Context>(pop3::Pop3Context{services, locks});
  };
  spec.finished = [&context] { context.reset(); };
  return session::run_daemon(argc, argv, spec);
}
