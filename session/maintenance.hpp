#pragma once
// Store housekeeping that one daemon does for all: trimming the change log to
// storage.change_log_retention (storage/changes.hpp). mailstead-smtpd runs it, since every
// installation runs smtpd: once at start, then hourly, in batches that each are one short
// group-committed write, so deliveries never wait long behind it.

#include <chrono>

#include "common/net/asio.hpp"
#include "session/services.hpp"

namespace mailstead::session {

class StoreMaintenance {
 public:
  static constexpr std::chrono::hours kEvery{1};
  static constexpr std::size_t kBatch = 10000;

  StoreMaintenance(const Services& services, net::asio::io_context& io);
  void start();
  void stop();  // from any thread

 private:
  net::awaitable<void> loop();
  net::awaitable<void> trim();

  Services services_;
  net::asio::strand<net::asio::io_context::executor_type> strand_;
  net::asio::steady_timer timer_;
  bool stopping_ = false;  // on strand_
};

}  // namespace mailstead::session
