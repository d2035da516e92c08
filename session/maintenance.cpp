#include "session/maintenance.hpp"

#include "common/log/log.hpp"
#include "common/net/supervise.hpp"
#include "session/commit.hpp"
#include "storage/changes.hpp"

namespace mailstead::session {

namespace asio = net::asio;

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
    if (stopping_) break;  // stop() came during the trim: its cancel found no wait
    timer_.expires_after(kEvery);
    co_await timer_.async_wait(net::use_tuple);
  }
}

net::awaitable<void> StoreMaintenance::trim() {
  const auto retention = services_.config.storage.change_log_retention.count();
  std::size_t total = 0;
  for (std::size_t removed = kBatch; removed == kBatch && !stopping_;) {
    const auto now =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    removed = 0;
    auto outcome = co_await commit(services_.committer, [&](storage::WriteTxn& txn) {
      removed = storage::trim_change_log(txn, now, retention, kBatch);
    });
    if (outcome.error) {
      try {
        std::rethrow_exception(outcome.error);
      } catch (const std::exception& e) {
        log::warn("-", "change_log_trim_failed", "error={}", log::quoted(e.what()));
      }
      co_return;
    }
    total += removed;
  }
  if (total > 0) log::info("-", "change_log_trimmed", "entries={}", total);
}

}  // namespace mailstead::session
