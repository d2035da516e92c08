// mailstead-imapd: IMAP on the users' mailboxes (143 with STARTTLS, 993 over TLS).
//
// usage: mailstead-imapd [-c FILE]   (start-up order: session/daemon.hpp)

#include <memory>

#include "imapd/session.hpp"
#include "imapd/text_indexer.hpp"
#include "imapd/watcher.hpp"
#include "session/daemon.hpp"

using namespace mailstead;

namespace {

std::string refusal(net::Refusal r) {
  switch (r) {
    case net::Refusal::too_many_from_client:
      return "* BYE Too many connections from your address, try later\r\n";
    case net::Refusal::too_fast_from_client:
      return "* BYE Connecting too fast from your address, slow down\r\n";
    case net::Refusal::too_many_connections:
      break;
  }
  return "* BYE Too many connections, try later\r\n";
}

}  // namespace

int main(int argc, char** argv) {
  std::unique_ptr<imap::ChangeWatcher> watcher;
  std::unique_ptr<imap::TextIndexer> indexer;
  imap::SnapshotCache snapshots;
  imap::RecentClaims recent;
  std::unique_ptr<imap::ImapContext> context;  // set by `ready`, before the first connection
  session::DaemonSpec spec;
  spec.name = "imapd";
  spec.purpose = "Serves IMAP on the users' mailboxes";
  spec.listen = [&context](net::Server& server, const config::Config& cfg) {
    net::SessionHandler handler = [&context](net::Connection& c) { return imap::serve_imap(c, *context); };
    // A connection starts with the limit of a stranger; login raises it (Session::log_in).
    std::size_t line = cfg.imapd.max_preauth_length;
    for (const auto& e : cfg.imapd.listen) server.listen({"imap", e, false, line, handler, refusal});
    for (const auto& e : cfg.imapd.tls_listen) server.listen({"imaps", e, true, line, handler, refusal});
  };
  spec.ready = [&context, &watcher, &indexer, &snapshots, &recent](const session::Services& services,
                                                                   net::Server& server) {
    watcher = std::make_unique<imap::ChangeWatcher>(server.io(), services.store);
    if (services.config.imapd.text_index) {
      indexer = std::make_unique<imap::TextIndexer>(services);
      watcher->listen_for_appends({[i = indexer.get()](const auto& mailboxes) { i->appended(mailboxes); },
                                   [i = indexer.get()] { i->look_everywhere(); }});
      indexer->start();
      server.on_shutdown([i = indexer.get()] { i->stop(); });
    }
    watcher->start();
    server.on_shutdown([w = watcher.get()] { w->stop(); });
    context = std::make_unique<imap::ImapContext>(imap::ImapContext{services, *watcher, snapshots, recent});
  };
  spec.finished = [&context, &watcher, &indexer] {
    context.reset();
    watcher.reset();
    indexer.reset();
  };
  return session::run_daemon(argc, argv, spec);
}
