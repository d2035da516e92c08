#pragma once
// DNS through c-ares on the Asio event loop: no blocking call and no thread per query. c-ares
// tells us (socket-state callback) which sockets it wants watched; each becomes a
// posix::stream_descriptor that waits for readability and hands the socket back to
// ares_process_fd, and one timer drives c-ares' retransmissions and timeouts.
//
// One Resolver belongs to one strand: every call, every callback and every completion runs
// there, so c-ares (which is not thread-safe per channel) is only ever entered from it.

#include <memory>
#include <string>
#include <vector>

#include "common/net/asio.hpp"
#include "smtpd/outbound/route.hpp"

namespace mailstead::outbound {

struct AddressAnswer {
  DnsStatus status = DnsStatus::temporary;
  std::vector<net::asio::ip::address> addresses;  // IPv6 first, then IPv4 (RFC 6724's default order)
  std::string error;
};

class Resolver {
 public:
  // servers: "ip:port" or "ip" entries; empty means the system's (/etc/resolv.conf).
  Resolver(const net::asio::any_io_executor& executor, const std::vector<std::string>& servers,
           std::chrono::milliseconds timeout);
  ~Resolver();
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  net::awaitable<MxAnswer> mx(std::string domain);
  // A and AAAA of a host, CNAMEs followed.
  net::awaitable<AddressAnswer> addresses(std::string host);
  // Ends every pending query (ARES_ECANCELLED) and stops watching sockets.
  void cancel();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace mailstead::outbound
