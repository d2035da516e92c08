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

#include <boost/asio/strand.hpp>
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

// A Resolver for coroutines on any thread (the sessions of a daemon with several I/O threads):
// it lives on a strand of its own, and each lookup runs there, its caller resuming on its own
// executor when the answer is in.
class SharedResolver {
 public:
  SharedResolver(net::asio::io_context& io, const std::vector<std::string>& servers, std::chrono::milliseconds timeout,
                 std::shared_ptr<Cache> cache);
  net::awaitable<Answer> query(std::string name, Type type);
  // Several questions asked at once: the answers in the order asked, after the slowest. The
  // caller's executor must be a strand (every session's is).
  struct Question {
    std::string name;
    Type type = Type::txt;
  };
  net::awaitable<std::vector<Answer>> query_all(std::vector<Question> questions);
  // Ends every lookup in progress (a temporary failure) and those asked later: for shutdown.
  void cancel();

 private:
  net::asio::strand<net::asio::io_context::executor_type> strand_;
  Resolver resolver_;
};

}  // namespace mailstead::dns
