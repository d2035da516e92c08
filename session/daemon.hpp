#pragma once
// The life of every mailstead daemon, in one place: parse the command line, load the config
// (refuse to start on any error), make the TLS context, bind every listener as root, drop to
// server.user, open the store, print "ready <ports>" (the tests and scripts/dev.sh wait for
// it), and serve until SIGTERM/SIGINT.

#include <functional>
#include <string_view>

#include "common/net/server.hpp"
#include "session/services.hpp"

namespace mailstead::session {

struct DaemonSpec {
  std::string_view name;     // "smtpd": the program is mailstead-<name>, and logs say <name>
  std::string_view purpose;  // one line for --help
  // Binds the daemon's listeners. Handlers run only after `ready`.
  std::function<void(net::Server&, const config::Config&)> listen;
  // Called once the store is open, before the first connection is accepted; background work
  // (the queue runner) starts here on the server's io_context.
  std::function<void(const Services&, net::Server&)> ready;
  // Called once serving has ended (or failed), while the io_context, the store and the
  // services still exist: what `ready` made on them must be destroyed here.
  std::function<void()> finished;
};

// The whole main(): returns the process's exit code.
int run_daemon(int argc, char** argv, const DaemonSpec& spec);

}  // namespace mailstead::session
