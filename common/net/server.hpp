#pragma once
// The listening side of a daemon: binds its endpoints (as root, before privileges are dropped),
// accepts on each, admits connections through the ConnectionLimiter, runs one coroutine per
// connection on its own strand, and shuts down gracefully.
//
// Implementation notes
// - Each connection: admit (or send the protocol's refusal line and close) -> implicit TLS
//   handshake where the listener asks for it -> the protocol's handler -> close. Every step is
//   logged with the session id; an exception escaping a handler is logged, never fatal.
// - Shutdown (SIGTERM/SIGINT, or shutdown()): acceptors close at once, sessions waiting for a
//   command are told (Closed{shutdown}) so the protocol can say goodbye, busy sessions get
//   `limits.shutdown_grace` to finish, then every remaining connection is closed. run() returns
//   when the last connection is gone. A second signal closes everything at once.
// - SIGHUP runs the reload hooks (the daemon re-reads its config and certificate) and keeps
//   serving; connections accepted afterwards use the TLS context given to set_tls().

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/config/config.hpp"
#include "common/net/asio.hpp"
#include "common/net/connection.hpp"
#include "common/net/connection_limiter.hpp"

namespace mailstead::net {

using SessionHandler = std::function<awaitable<void>(Connection&)>;

struct ListenerSpec {
  std::string name;  // e.g. "submission"; appears in logs
  config::Endpoint endpoint;
  bool implicit_tls = false;
  std::size_t max_line = 8192;  // the protocol's command line limit, CRLF included
  SessionHandler handler;
  // The line sent to a client turned away by the limits, then the connection closes;
  // e.g. "421 4.7.0 Too many connections\r\n". Empty: close without a word.
  std::function<std::string(Refusal)> refusal;
};

class BindError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Server {
 public:
  Server(const config::Config& config, std::shared_ptr<ssl::context> tls);
  ~Server();

  // Binds now; throws BindError naming the listener and the endpoint.
  void listen(ListenerSpec spec);
  // A Unix-domain socket at `path` (spec.endpoint unused), created with mode 0666 so that any
  // local program may connect, in place of a stale socket left by a crash; its directory is
  // made if missing. Connections are admitted per local user ("local uid N"), not per address.
  void listen_local(ListenerSpec spec, const std::string& path);
  // TCP endpoints actually bound (port 0 in the config gets a real port here).
  std::vector<tcp::endpoint> bound_endpoints() const;

  // Serves until shut down, on `threads` threads; handles SIGINT and SIGTERM.
  void run(unsigned threads);
  // Starts a graceful shutdown; safe from any thread.
  void shutdown();
  // Called when the shutdown begins (on the server's control strand), for background work
  // that must end too, like a queue runner; add before run().
  void on_shutdown(std::function<void()> fn) { shutdown_hooks_.push_back(std::move(fn)); }
  // Called on SIGHUP (on the control strand); add before run().
  void on_reload(std::function<void()> fn) { reload_hooks_.push_back(std::move(fn)); }
  // The TLS context for connections accepted from now on; safe from any thread.
  void set_tls(std::shared_ptr<ssl::context> tls);

  unsigned active_connections() const { return limiter_->active(); }
  // An accept loop or the signal handler failed: the server shut itself down (logged).
  bool failed() const { return failed_; }
  asio::io_context& io() { return io_; }

 private:
  using Acceptor = asio::basic_socket_acceptor<asio::generic::stream_protocol>;
  struct Listener {
    ListenerSpec spec;
    Acceptor acceptor;
    std::string unix_path;  // a Unix-domain listener's socket file, removed at the end
  };

  awaitable<void> accept_loop(Listener& listener);
  awaitable<void> serve(StreamSocket socket, const ListenerSpec& spec, std::string session_id);
  awaitable<void> run_session(std::shared_ptr<Connection> connection, const ListenerSpec& spec);
  awaitable<void> handle_signals();
  std::shared_ptr<ssl::context> current_tls() const;
  void begin_shutdown();
  void finish_if_drained();
  void close_all();
  void add(const std::shared_ptr<Connection>& connection);
  void remove(const std::string& session_id);

  asio::io_context io_;
  asio::strand<asio::io_context::executor_type> control_;  // acceptors, timers, signals
  const config::Config& config_;
  std::shared_ptr<ssl::context> tls_;
  std::shared_ptr<ConnectionLimiter> limiter_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  asio::steady_timer grace_timer_;
  asio::signal_set signals_;
  std::vector<std::function<void()>> shutdown_hooks_;
  std::vector<std::function<void()>> reload_hooks_;
  mutable std::mutex tls_mutex_;  // guards tls_, replaced by set_tls() while sessions start
  std::atomic<bool> stopping_{false};
  std::atomic<bool> failed_{false};
  bool drained_ = false;  // stopping and no session left; on control_

  mutable std::mutex sessions_mutex_;
  std::map<std::string, std::weak_ptr<Connection>> sessions_;
};

}  // namespace mailstead::net
