#pragma once
// Store housekeeping that one daemon does for all: trimming the change log to
// storage.change_log_retention (storage/changes.hpp) and forgetting expired greylisting
// triplets (storage/greylist.hpp). mailstead-smtpd runs it, since every
// installation runs smtpd: once at start, then hourly, in batches that each are one short
// group-committed write, so deliveries never wait long behind it.

#include <chrono>
#include <functional>
#include <string_view>

#include "common/net/asio.hpp"
#include "session/services.hpp"
#include "storage/greylist.hpp"

namespace mailstead::session {

// The store's greylisting policy, from [greylist].
storage::GreylistPolicy greylist_policy(const config::GreylistConfig& config);

class StoreMaintenance {
 public:
  static constexpr std::chrono::hours kEvery{1};
  static constexpr std::size_t kBatch = 10000;

  StoreMaintenance(const Services& services, net::asio::io_context& io);
  void start();
  void stop();  // from any thread

 private:
  net::awaitable<void> loop();
  // One pass of housekeeping: removes at most kBatch entries in one write, returns how many.
  using Pass = std::function<std::size_t(storage::WriteTxn&, std::int64_t now)>;
  // Runs `pass` in batches, each one short group-committed write, until a batch is not full.
  net::awaitable<std::size_t> in_batches(std::string_view what, Pass pass);
  net::awaitable<void> trim();
  net::awaitable<void> forget_greylist();

  Services services_;
  net::asio::strand<net::asio::io_context::executor_type> strand_;
  net::asio::steady_timer timer_;
  bool stopping_ = false;  // on strand_
};

}  // namespace mailstead::session
