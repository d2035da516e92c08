#include "session/maintenance.hpp"

#include "common/log/log.hpp"
#include "common/net/supervise.hpp"
#include "session/commit.hpp"
#include "storage/changes.hpp"

namespace mailstead::session {

namespace asio = net::asio;

storage::GreylistPolicy greylist_policy(const config::GreylistConfig& config) {
  return {config.delay.count(), config.max_retry.count(), config.allow_for.count(), config.max_entries};
}

StoreMaintenance::StoreMaintenance(const Services& services, asio::io_context& io)
    : services_(services), strand_(asio::make_strand(io)), timer_(strand_) {}

void StoreMaintenance::start() {
  net::supervise(strand_, "store_maintenance", [this] { return loop(); });
}

void StoreMaintenance::stop() {
  asio::dispatch(strand_, [this] {
    stopping_ = true;
    timer_.cancel();
  });
}

net::awaitable<void> StoreMaintenance::loop() {
  while (!stopping_) {
    co_await trim();
    co_await forget_greylist();
    if (stopping_) break;  // stop() came during the trim: its cancel found no wait
    timer_.expires_after(kEvery);
    co_await timer_.async_wait(net::use_tuple);
  }
}

net::awaitable<std::size_t> StoreMaintenance::in_batches(std::string_view what, Pass pass) {
  std::size_t total = 0;
  for (std::size_t removed = kBatch; removed == kBatch && !stopping_;) {
    const auto now =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    removed = 0;
    auto outcome = co_await commit(services_.committer, [&](storage::WriteTxn& txn) { removed = pass(txn, now); });
    if (outcome.error) {
      try {
        std::rethrow_exception(outcome.error);
      } catch (const std::exception& e) {
        log::warn("-", "maintenance_failed", "what={} error={}", what, log::quoted(e.what()));
      }
      co_return total;
    }
    total += removed;
  }
  co_return total;
}

net::awaitable<void> StoreMaintenance::trim() {
  const auto retention = services_.config.storage.change_log_retention.count();
  Pass pass = [retention](storage::WriteTxn& txn, std::int64_t now) {
    return storage::trim_change_log(txn, now, retention, kBatch);
  };
  auto total = co_await in_batches("change_log", std::move(pass));
  if (total > 0) log::info("-", "change_log_trimmed", "entries={}", total);
}

// Triplets that were never retried, and allowances that ran out (also when greylisting was
// turned off since: what it left behind goes the same way).
net::awaitable<void> StoreMaintenance::forget_greylist() {
  const auto policy = greylist_policy(services_.config.greylist);
  Pass pass = [policy](storage::WriteTxn& txn, std::int64_t now) {
    return storage::expire_greylist(txn, now, policy, kBatch);
  };
  auto total = co_await in_batches("greylist", std::move(pass));
  if (total > 0) log::info("-", "greylist_forgotten", "entries={}", total);
}

}  // namespace mailstead::session
