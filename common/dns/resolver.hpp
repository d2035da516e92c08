#pragma once
// DNS through c-ares on the Asio event loop: no blocking call and no thread per query. c-ares
// tells us (socket-state callback) which sockets it wants watched; each becomes a
// posix::stream_descriptor that waits for readability and hands the socket back to
// ares_process_fd, and one timer drives c-ares' retransmissions and timeouts. c-ares sends
// and receives; the answer is read by dns::parse_response, so that each record keeps its TTL
// for the cache that every resolver of the process shares.
//
// One Resolver belongs to one strand: every call, every callback and every completion runs
// there, so c-ares (which is not thread-safe per channel) is only ever entered from it.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/config/config.hpp"
#include "common/dns/answer.hpp"
#include "common/dns/cache.hpp"
#include "common/net/asio.hpp"

namespace mailstead::dns {

struct AddressAnswer {
  Status status = Status::temporary;
  std::vector<net::asio::ip::address> addresses;  // IPv6 first, then IPv4 (RFC 6724's default order)
  std::string error;
};

// c-ares' "ip:port" list from the configured servers; IPv6 addresses in brackets.
std::vector<std::string> server_list(const std::vector<config::Endpoint>& servers);

class Resolver {
 public:
  // servers: "ip:port" or "ip" entries (IPv6 in brackets with a port); empty means the
  // system's (/etc/resolv.conf). `cache` may be null: then nothing is kept.
  Resolver(const net::asio::any_io_executor& executor, const std::vector<std::string>& servers,
           std::chrono::milliseconds timeout, std::shared_ptr<Cache> cache = nullptr);
  ~Resolver();
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  // Records of one type, CNAMEs followed (at most kMaxCnames of them). A name with a byte
  // above 127 is asked for by its A-labels.
  net::awaitable<Answer> query(std::string name, Type type);
  net::awaitable<MxAnswer> mx(std::string domain);
  // A and AAAA of a host, asked at once.
  net::awaitable<AddressAnswer> addresses(std::string host);
  // Ends every pending query (ARES_ECANCELLED) and stops watching sockets.
  void cancel();

  static constexpr unsigned kMaxCnames = 8;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
  std::shared_ptr<Cache> cache_;
};

}  // namespace mailstead::dns
