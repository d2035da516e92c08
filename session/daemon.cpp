#include "session/daemon.hpp"

#include <fmt/format.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

#include "common/log/log.hpp"
#include "common/net/privileges.hpp"
#include "common/net/tls.hpp"
#include "common/version.hpp"

namespace mailstead::session {
namespace {

std::string config_path(int argc, char** argv) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::string_view(argv[i]) == "-c" || std::string_view(argv[i]) == "--config") return argv[i + 1];
  if (const char* env = std::getenv("MAILSTEAD_CONFIG"); env && *env) return env;  // NOLINT(concurrency-mt-unsafe)
  return std::string(config::kDefaultConfigPath);
}

// Tells systemd (Type=notify units) that the daemon is ready: one datagram to $NOTIFY_SOCKET,
// the whole of the protocol we need, so no libsystemd.
void notify_systemd(std::string_view state) {
  const char* socket_path = std::getenv("NOTIFY_SOCKET");  // NOLINT(concurrency-mt-unsafe)
  if (!socket_path || !*socket_path) return;
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::size_t length = std::strlen(socket_path);
  if (length >= sizeof(address.sun_path)) return;
  std::memcpy(address.sun_path, socket_path, length);
  if (address.sun_path[0] == '@') address.sun_path[0] = '\0';  // an abstract socket
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  auto size = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + length);
  if (::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&address), size) < 0)
    // NOLINTNEXTLINE(concurrency-mt-unsafe): called once at start, before any other thread runs
    log::warn("-", "notify_failed", "error={}", log::quoted(std::strerror(errno)));
  ::close(fd);
}

// SIGHUP: re-read the config file; if it is valid, apply what can change while serving (the
// certificate and key, e.g. after a certbot renewal, and the log level). Everything else
// takes effect at the next start; a broken file changes nothing.
void reload(const std::string& path, net::Server& server) {
  auto loaded = config::load_config_file(path);
  for (const auto& e : loaded.errors) log::error("-", "reload_failed", "error={}", log::quoted(e.to_string()));
  if (!loaded.config) return;
  try {
    server.set_tls(net::make_server_tls_context(loaded.config->tls));
  } catch (const std::exception& e) {
    log::error("-", "reload_failed", "error={}", log::quoted(e.what()));
    return;
  }
  log::set_threshold(loaded.config->log.level);
  log::info("-", "reloaded", "config={} applied=\"tls log.level\"", log::quoted(path));
}

// Each connection holds a descriptor, and the usual soft limit (1024) would turn clients away
// with EMFILE long before limits.max_connections: the soft limit goes up to the hard one (the
// systemd units set that to 65536), and a hard limit too low for the config is said once.
void raise_descriptor_limit(unsigned max_connections) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &limit);
    (void)getrlimit(RLIMIT_NOFILE, &limit);
  }
  constexpr rlim_t kOwnDescriptors = 64;  // the store, logs, listeners, DNS, the hashing pool
  if (max_connections > 0 && limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < max_connections + kOwnDescriptors)
    log::warn("-", "descriptor_limit", "open_files={} max_connections={} (raise LimitNOFILE or ulimit -n)",
              static_cast<unsigned long long>(limit.rlim_cur), max_connections);
}

}  // namespace

int run_daemon(int argc, char** argv, const DaemonSpec& spec) {
  auto program = fmt::format("mailstead-{}", spec.name);
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--version") return std::printf("%s %s\n", program.c_str(), kVersion), 0;
    if (a == "-h" || a == "--help") {
      std::printf("usage: %s [-c FILE]\n%s, as configured in FILE (default %s).\n", program.c_str(),
                  std::string(spec.purpose).c_str(), std::string(config::kDefaultConfigPath).c_str());
      return 0;
    }
  }
  auto path = config_path(argc, argv);
  auto loaded = config::load_config_file(path);
  for (const auto& e : loaded.errors) (void)std::fprintf(stderr, "%s\n", e.to_string().c_str());
  if (!loaded.config) return 1;
  const auto& cfg = *loaded.config;
  log::init(spec.name, cfg.log.level);
  raise_descriptor_limit(cfg.limits.max_connections);
  try {
    auto tls = net::make_server_tls_context(cfg.tls);
    net::Server server(cfg, tls);
    spec.listen(server, cfg);
    net::drop_privileges(cfg.server.user, cfg.server.group);
    auto store = storage::Store::open(storage::store_options(cfg));
    storage::GroupCommitter committer(*store);
    net::PasswordPool passwords(cfg.auth.hash_threads);
    Services services{cfg, *store, committer, passwords};
    struct Finish {  // runs before the services and the server are destroyed, however we leave
      const DaemonSpec& spec;
      ~Finish() {
        if (spec.finished) spec.finished();
      }
    } finish{spec};
    spec.ready(services, server);
    server.on_reload([&path, &server] { reload(path, server); });
    log::info("-", "started", "version={} config={}", kVersion, log::quoted(path));
    std::string ports;
    for (const auto& e : server.bound_endpoints()) ports += fmt::format(" {}", e.port());
    std::cout << "ready" << ports << std::endl;
    notify_systemd("READY=1");
    server.run(cfg.server.threads);
    if (server.failed()) {
      (void)std::fprintf(stderr, "%s: stopped after a failure of the server itself (see the log)\n", program.c_str());
      return 1;
    }
  } catch (const std::exception& e) {
    (void)std::fprintf(stderr, "%s: %s\n", program.c_str(), e.what());
    return 1;
  }
  return 0;
}

}  // namespace mailstead::session
