#pragma once
// Admission of new connections: at most `max_total` at once per daemon, `max_per_client` at
// once per client, and `max_rate_per_client` new connections per client per minute. A client is an IPv4 address, or an
// IPv6 /64 — the block one host or household normally gets, so that a client cannot evade the limit by rotating through
// its own /64. Thread-safe. A Permit gives its slot back when destroyed.

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <variant>

#include "common/net/asio.hpp"

namespace mailstead::net {

enum class Refusal { too_many_connections, too_many_from_client, too_fast_from_client };
std::string_view to_string(Refusal refusal);

class ConnectionLimiter : public std::enable_shared_from_this<ConnectionLimiter> {
 public:
  class Permit {
   public:
    Permit(std::shared_ptr<ConnectionLimiter> owner, std::string client)
        : owner_(std::move(owner)), client_(std::move(client)) {}
    Permit(Permit&&) = default;
    Permit& operator=(Permit&&) = default;
    ~Permit();

   private:
    std::shared_ptr<ConnectionLimiter> owner_;
    std::string client_;
  };

  ConnectionLimiter(unsigned max_total, unsigned max_per_client, unsigned max_rate_per_client = 0)
      : max_total_(max_total), max_per_client_(max_per_client), max_rate_(max_rate_per_client) {}

  // A permit, or why the connection is refused. Limits of 0 mean unlimited. `now` is seconds
  // on any steady clock (a parameter so that tests can move time).
  std::variant<Permit, Refusal> try_admit(const asio::ip::address& address, std::int64_t now);
  std::variant<Permit, Refusal> try_admit(const asio::ip::address& address);  // now = steady clock
  // A local program on a Unix-domain socket, counted per user; no rate limit, so that a batch
  // of mail from a script (one sendmail per message) is not turned away.
  std::variant<Permit, Refusal> try_admit_local(unsigned uid);
  unsigned active() const;

  // The key a client's connections are counted under: "192.0.2.7", or "2001:db8:1:2::/64".
  static std::string client_key(const asio::ip::address& address);

 private:
  void release(const std::string& client);
  std::variant<Permit, Refusal> admit(std::string key, std::int64_t now, bool limit_rate);

  // Connections a client opened in the current one-minute window.
  struct Rate {
    std::int64_t window_start = 0;
    unsigned count = 0;
  };
  bool over_rate(const std::string& client, std::int64_t now);

  mutable std::mutex mutex_;
  unsigned max_total_;
  unsigned max_per_client_;
  unsigned max_rate_;
  unsigned total_ = 0;
  std::map<std::string, unsigned, std::less<>> per_client_;
  std::map<std::string, Rate, std::less<>> rates_;
};

}  // namespace mailstead::net
