#include "session/login.hpp"

#include <ctime>

#include "common/log/log.hpp"
#include "common/net/connection_limiter.hpp"
#include "session/commit.hpp"
#include "storage/auth_failures.hpp"

namespace mailstead::session {
namespace {

std::string client_key(const net::Connection& connection) {
  return net::ConnectionLimiter::client_key(connection.remote().address());
}

// Records the failure, then waits the delay it earns before the caller answers.
net::awaitable<storage::AuthFailures> count_failure(const Services& services, net::Connection& connection) {
  const auto& a = services.config.auth;
  storage::LockoutPolicy policy{a.lockout_failures, a.lockout_window.count(), a.lockout_duration.count()};
  storage::AuthFailures failures;
  auto key = client_key(connection);
  auto now = static_cast<std::int64_t>(std::time(nullptr));
  storage::GroupCommitter::Work work = [&](storage::WriteTxn& txn) {
    failures = storage::record_auth_failure(txn, key, now, policy);
  };
  co_await commit(services.committer, std::move(work));
  auto delay = storage::failure_delay(failures.count, a.failure_delay, a.failure_delay_max);
  if (delay.count() > 0) {
    net::asio::steady_timer timer(connection.get_executor(), delay);
    co_await timer.async_wait(net::use_tuple);
  }
  co_return failures;
}

}  // namespace

bool locked_out(const Services& services, const net::Connection& connection) {
  auto state = storage::auth_failures(services.store.read(), client_key(connection), std::time(nullptr));
  return state.locked_until != 0;
}

net::awaitable<std::optional<storage::User>> log_in(const Services& services, net::Connection& connection,
                                                    sasl::Credentials credentials) {
  auto user = storage::find_user(services.store.read(), credentials.authcid);
  bool authzid_ok = credentials.authzid.empty() || credentials.authzid == credentials.authcid;
  static const std::string kDummy = "$y$j9T$abcdefghijklmnopqrstu1$HZ8mcCBaXDWmMfDHc6srTC.EUNg5x04Ly/TYQCr34R.";
  std::string hash = user ? user->password_hash : kDummy;
  auto verdict = co_await services.passwords.verify(std::move(credentials.password), std::move(hash));
  if (!user || !authzid_ok || !user->enabled || verdict != auth::Verdict::match) {
    auto failures = co_await count_failure(services, connection);
    log::info(connection.session_id(), "auth_failed", "user={} reason={} failures={} locked={}",
              log::quoted(credentials.authcid),
              !user            ? "unknown_user"
              : !authzid_ok    ? "authzid"
              : !user->enabled ? "disabled"
                               : "password",
              failures.count, failures.locked_until != 0);
    co_return std::nullopt;
  }
  log::info(connection.session_id(), "auth", "user={}", log::quoted(user->address));
  co_return std::optional<storage::User>(std::move(*user));
}

}  // namespace mailstead::session
