#include "common/net/server.hpp"

#include <fmt/format.h>
#include <sys/stat.h>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <csignal>
#include <filesystem>
#include <thread>

#include "common/log/log.hpp"

namespace mailstead::net {
namespace {

std::string endpoint_text(const tcp::endpoint& e) {
  auto address = e.address();
  if (address.is_v6()) return fmt::format("[{}]:{}", address.to_string(), e.port());
  return fmt::format("{}:{}", address.to_string(), e.port());
}

std::vector<tcp::endpoint> resolve_for_listening(asio::io_context& io, const config::Endpoint& endpoint) {
  error_code ec;
  auto address = asio::ip::make_address(endpoint.host, ec);
  if (!ec) return {tcp::endpoint(address, endpoint.port)};
  tcp::resolver resolver(io);
  auto results = resolver.resolve(endpoint.host, std::to_string(endpoint.port), tcp::resolver::passive, ec);
  if (ec) throw BindError(fmt::format("cannot resolve \"{}\": {}", endpoint.host, ec.message()));
  std::vector<tcp::endpoint> out;
  for (const auto& r : results) out.push_back(r.endpoint());
  return out;
}

// Keeps the connection alive while its watchdog runs.
awaitable<void> watch(std::shared_ptr<Connection> connection) {
  co_await connection->watchdog();
}

std::string peer_text(const Connection& c) {
  if (const auto& peer = c.local_peer()) return fmt::format("local:uid={},pid={}", peer->uid, peer->pid);
  return endpoint_text(c.remote());
}

bool is_ipv6_wildcard_unavailable(const tcp::endpoint& e, const error_code& ec) {
  return e.address().is_v6() && e.address().is_unspecified() &&
         (ec == asio::error::address_family_not_supported || ec == boost::system::errc::address_not_available);
}

}  // namespace

Server::Server(const config::Config& config, std::shared_ptr<ssl::context> tls)
    : control_(asio::make_strand(io_)),
      config_(config),
      tls_(std::move(tls)),
      limiter_(std::make_shared<ConnectionLimiter>(config.limits.max_connections, config.limits.max_connections_per_ip,
                                                   config.limits.max_connection_rate_per_ip)),
      grace_timer_(control_),
      signals_(control_) {}

Server::~Server() = default;

void Server::listen(ListenerSpec spec) {
  for (const auto& endpoint : resolve_for_listening(io_, spec.endpoint)) {
    auto listener = std::make_unique<Listener>(Listener{spec, Acceptor(control_), {}});
    auto& acceptor = listener->acceptor;
    error_code ec;
    acceptor.open(asio::generic::stream_protocol(endpoint.protocol()), ec);
    if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec && endpoint.address().is_v6()) acceptor.set_option(asio::ip::v6_only(true), ec);
    if (!ec) acceptor.bind(asio::generic::stream_protocol::endpoint(endpoint), ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec && is_ipv6_wildcard_unavailable(endpoint, ec)) {
      log::warn("-", "listen_skipped", "listener={} address={} reason=\"no IPv6 on this host\"", spec.name,
                endpoint_text(endpoint));
      continue;
    }
    if (ec)
      throw BindError(fmt::format("{}: cannot listen on {}: {}", spec.name, endpoint_text(endpoint), ec.message()));
    log::info("-", "listen", "listener={} address={} tls={}", spec.name,
              endpoint_text(*to_tcp(acceptor.local_endpoint())), spec.implicit_tls ? "implicit" : "starttls");
    listeners_.push_back(std::move(listener));
  }
}

void Server::listen_local(ListenerSpec spec, const std::string& path) {
  namespace fs = std::filesystem;
  auto fail = [&](std::string_view why) {
    throw BindError(fmt::format("{}: cannot listen on {}: {}", spec.name, path, why));
  };
  std::error_code fs_ec;
  auto directory = fs::path(path).parent_path();
  if (!directory.empty() && !fs::exists(directory, fs_ec)) {
    fs::create_directories(directory, fs_ec);
    if (fs_ec) fail(fs_ec.message());
    fs::permissions(directory, fs::perms(0755), fs_ec);
  }
  // A socket file left by a daemon that did not stop cleanly; anything else at the path stays.
  if (fs::is_socket(fs::symlink_status(path, fs_ec))) fs::remove(path, fs_ec);
  auto listener = std::make_unique<Listener>(Listener{spec, Acceptor(control_), path});
  auto& acceptor = listener->acceptor;
  error_code ec;
  asio::local::stream_protocol::endpoint endpoint(path);
  acceptor.open(asio::generic::stream_protocol(AF_UNIX, 0), ec);
  if (!ec) acceptor.bind(asio::generic::stream_protocol::endpoint(endpoint), ec);
  if (!ec && ::chmod(path.c_str(), 0666) != 0) ec = error_code(errno, boost::system::system_category());
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) fail(ec.message());
  log::info("-", "listen", "listener={} address={} tls=none", spec.name, log::quoted(path));
  listeners_.push_back(std::move(listener));
}

std::vector<tcp::endpoint> Server::bound_endpoints() const {
  std::vector<tcp::endpoint> out;
  for (const auto& l : listeners_)
    if (auto e = to_tcp(l->acceptor.local_endpoint())) out.push_back(*e);
  return out;
}

void Server::run(unsigned threads) {
  (void)std::signal(SIGPIPE, SIG_IGN);
  // Without these the daemon would go on running deaf: if one ends with an exception, the
  // daemon stops, loudly, and run_daemon exits with an error.
  auto fail_loudly = [this](std::string_view what) {
    return [this, what](const std::exception_ptr& e) {
      if (!e) return;
      log::error("-", "server_failed", "loop={} error={}", what, log::quoted(log::describe(e), 500));
      failed_ = true;
      begin_shutdown();
    };
  };
  for (auto& listener : listeners_) asio::co_spawn(control_, accept_loop(*listener), fail_loudly("accept"));
  asio::co_spawn(control_, handle_signals(), fail_loudly("signals"));
  std::vector<std::thread> workers;
  for (unsigned i = 1; i < threads; ++i) workers.emplace_back([this] { io_.run(); });
  io_.run();
  for (auto& w : workers) w.join();
  for (const auto& l : listeners_) {
    std::error_code ignored;
    if (!l->unix_path.empty()) std::filesystem::remove(l->unix_path, ignored);
  }
  log::info("-", "stopped", "");
}

void Server::shutdown() {
  asio::dispatch(control_, [this] { begin_shutdown(); });
}

awaitable<void> Server::handle_signals() {
  signals_.add(SIGINT);
  signals_.add(SIGTERM);
  signals_.add(SIGHUP);
  bool shutting_down = false;
  for (;;) {
    auto [ec, signal] = co_await signals_.async_wait(use_tuple);
    if (ec) co_return;
    if (signal == SIGHUP) {
      log::info("-", "signal", "signal={} action=reload", signal);
      for (auto& hook : reload_hooks_) hook();
      continue;
    }
    if (shutting_down) {
      log::info("-", "signal", "signal={} action=close_all", signal);
      close_all();
      co_return;
    }
    log::info("-", "signal", "signal={} action=shutdown grace={}s", signal, config_.limits.shutdown_grace.count());
    shutting_down = true;
    begin_shutdown();
    if (drained_) co_return;
  }
}

void Server::set_tls(std::shared_ptr<ssl::context> tls) {
  std::lock_guard lock(tls_mutex_);
  tls_ = std::move(tls);
}

std::shared_ptr<ssl::context> Server::current_tls() const {
  std::lock_guard lock(tls_mutex_);
  return tls_;
}

void Server::begin_shutdown() {
  if (stopping_) return;
  stopping_ = true;
  for (auto& hook : shutdown_hooks_) hook();
  for (auto& listener : listeners_) {
    error_code ignored;
    listener->acceptor.close(ignored);
  }
  std::vector<std::shared_ptr<Connection>> live;
  {
    std::lock_guard lock(sessions_mutex_);
    for (auto& [id, weak] : sessions_)
      if (auto c = weak.lock()) live.push_back(std::move(c));
  }
  for (auto& c : live) asio::dispatch(c->get_executor(), [c] { c->request_shutdown(); });
  grace_timer_.expires_after(config_.limits.shutdown_grace);
  grace_timer_.async_wait([this](error_code ec) {
    if (!ec) close_all();
  });
  finish_if_drained();
}

// Once stopping and the last session is gone, nothing may keep the io_context running.
void Server::finish_if_drained() {
  if (!stopping_ || drained_) return;
  {
    std::lock_guard lock(sessions_mutex_);
    if (!sessions_.empty()) return;
  }
  drained_ = true;
  grace_timer_.cancel();
  signals_.cancel();
}

void Server::close_all() {
  std::vector<std::shared_ptr<Connection>> live;
  {
    std::lock_guard lock(sessions_mutex_);
    for (auto& [id, weak] : sessions_)
      if (auto c = weak.lock()) live.push_back(std::move(c));
  }
  if (!live.empty()) log::info("-", "close_all", "connections={}", live.size());
  for (auto& c : live) asio::dispatch(c->get_executor(), [c] { c->close(); });
  asio::dispatch(control_, [this] {
    stopping_ = true;
    for (auto& listener : listeners_) {
      error_code ignored;
      listener->acceptor.close(ignored);
    }
    finish_if_drained();
  });
}

void Server::add(const std::shared_ptr<Connection>& connection) {
  std::lock_guard lock(sessions_mutex_);
  sessions_.emplace(connection->session_id(), connection);
}

void Server::remove(const std::string& session_id) {
  bool last;
  {
    std::lock_guard lock(sessions_mutex_);
    sessions_.erase(session_id);
    last = sessions_.empty();
  }
  if (last) asio::dispatch(control_, [this] { finish_if_drained(); });
}

awaitable<void> Server::accept_loop(Listener& listener) {
  for (;;) {
    auto [ec, socket] = co_await listener.acceptor.async_accept(asio::make_strand(io_), use_tuple);
    if (stopping_ || ec == asio::error::operation_aborted) co_return;
    if (ec) {
      // Out of file descriptors or similar: pause rather than spin, keep serving the others.
      log::warn("-", "accept_failed", "listener={} error={}", listener.spec.name, log::quoted(ec.message()));
      asio::steady_timer pause(control_, std::chrono::milliseconds(100));
      co_await pause.async_wait(use_tuple);
      continue;
    }
    auto executor = socket.get_executor();
    auto id = log::new_session_id();
    asio::co_spawn(executor, serve(std::move(socket), listener.spec, id), [id](const std::exception_ptr& e) {
      if (e) log::error(id, "session_crashed", "error={}", log::quoted(log::describe(e), 500));
    });
  }
}

awaitable<void> Server::serve(StreamSocket socket, const ListenerSpec& spec, std::string session_id) {
  error_code ec;
  socket.remote_endpoint(ec);
  if (ec) co_return;                           // the client left before we looked
  socket.set_option(tcp::no_delay(true), ec);  // fails, harmlessly, on a Unix-domain socket
  auto connection =
      std::make_shared<Connection>(std::move(socket), current_tls(), std::move(session_id), spec.max_line);
  bool is_tcp = !connection->local_peer();
  auto admission = connection->local_peer() ? limiter_->try_admit_local(connection->local_peer()->uid)
                                            : limiter_->try_admit(connection->remote().address());
  add(connection);
  if (stopping_) connection->request_shutdown();  // accepted just as the shutdown began
  const auto& id = connection->session_id();
  asio::co_spawn(connection->get_executor(), watch(connection), [id](const std::exception_ptr& e) {
    if (e) log::error(id, "watchdog_failed", "error={}", log::quoted(log::describe(e), 500));
  });
  auto started = Clock::now();
  log::info(id, "connect", "listener={} remote={} local={}", spec.name, peer_text(*connection),
            is_tcp ? endpoint_text(connection->local()) : "unix");
  std::string_view outcome = "done";
  if (auto* refusal = std::get_if<Refusal>(&admission)) {
    log::warn(id, "refused", "reason={}", to_string(*refusal));
    outcome = "refused";
    bool ready = !spec.implicit_tls || !co_await connection->start_tls(config_.limits.tls_handshake_timeout);
    if (ready && spec.refusal) co_await connection->write(spec.refusal(*refusal), std::chrono::seconds(10));
  } else {
    co_await run_session(connection, spec);
  }
  connection->close();
  remove(id);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count();
  log::info(id, "disconnect", "outcome={} duration_ms={}", outcome, ms);
}

awaitable<void> Server::run_session(std::shared_ptr<Connection> connection, const ListenerSpec& spec) {
  const auto& id = connection->session_id();
  if (spec.implicit_tls) {
    if (auto ec = co_await connection->start_tls(config_.limits.tls_handshake_timeout)) {
      log::info(id, "tls_failed", "error={}", log::quoted(ec.message()));
      co_return;
    }
    log::info(id, "tls", "cipher={}", log::quoted(connection->tls_description()));
  }
  // The protocols answer their own handlers' failures; what escapes their loop ends only this
  // session, logged with its id, and the connection is closed and counted out as usual.
  std::exception_ptr escaped;
  try {
    co_await spec.handler(*connection);
  } catch (...) {
    escaped = std::current_exception();
  }
  if (escaped) log::error(id, "session_error", "error={}", log::quoted(log::describe(escaped), 500));
}

}  // namespace mailstead::net
