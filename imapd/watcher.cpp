#include "imapd/watcher.hpp"

#include <algorithm>

#include "common/log/log.hpp"
#include "common/net/supervise.hpp"
#include "storage/changes.hpp"

namespace mailstead::imap {

namespace asio = net::asio;

net::awaitable<bool> Doorbell::wait(std::chrono::steady_clock::duration limit) {
  if (rung_) co_return take_ring();
  timer_.expires_after(limit);
  co_await timer_.async_wait(net::use_tuple);
  co_return take_ring();
}

void Doorbell::ring(const std::shared_ptr<Doorbell>& bell) {
  asio::post(bell->executor_, [b = bell] {
    b->rung_ = true;
    b->timer_.cancel();
  });
}

ChangeWatcher::ChangeWatcher(asio::io_context& io, storage::Store& store)
    : strand_(asio::make_strand(io)), timer_(strand_), store_(store) {}

void ChangeWatcher::start() {
  seen_ = storage::last_modseq(store_.read());
  net::supervise(strand_, "change_watcher", [this] { return loop(); });
}

void ChangeWatcher::stop() {
  asio::post(strand_, [this] {
    stopping_ = true;
    timer_.cancel();
  });
}

void ChangeWatcher::watch(const std::shared_ptr<Doorbell>& bell, storage::MailboxId mailbox) {
  unwatch(bell.get());
  std::lock_guard lock(mutex_);
  watchers_.emplace(mailbox, bell);
  watched_[bell.get()] = mailbox;
}

void ChangeWatcher::unwatch(const Doorbell* bell) {
  std::lock_guard lock(mutex_);
  auto it = watched_.find(bell);
  if (it == watched_.end()) return;
  auto [first, last] = watchers_.equal_range(it->second);
  for (auto w = first; w != last; ++w) {
    if (auto locked = w->second.lock(); !locked || locked.get() == bell) {
      watchers_.erase(w);
      break;
    }
  }
  watched_.erase(it);
}

void ChangeWatcher::ring_for(const std::vector<storage::MailboxId>& mailboxes) {
  std::lock_guard lock(mutex_);
  for (auto mailbox : mailboxes) {
    auto [first, last] = watchers_.equal_range(mailbox);
    for (auto w = first; w != last; ++w)
      if (auto bell = w->second.lock()) Doorbell::ring(bell);
  }
}

void ChangeWatcher::ring_all() {
  std::lock_guard lock(mutex_);
  for (const auto& [mailbox, weak] : watchers_)
    if (auto bell = weak.lock()) Doorbell::ring(bell);
}

net::awaitable<void> ChangeWatcher::loop() {
  while (!stopping_) {
    timer_.expires_after(kPollInterval);
    co_await timer_.async_wait(net::use_tuple);
    if (stopping_) break;
    try {
      std::vector<storage::MailboxId> touched;
      std::vector<storage::MailboxId> appended;
      {
        auto txn = store_.read();
        auto last = storage::last_modseq(txn);
        if (last == seen_) continue;
        if (seen_ < storage::change_log_floor(txn)) {
          // The log was trimmed past what this watcher read (it was stalled for a day?): every
          // session looks for itself.
          seen_ = last;
          ring_all();
          if (listener_.lost) listener_.lost();
          continue;
        }
        for (const auto& change : storage::changes_since(txn, seen_, 100000)) {
          touched.push_back(change.mailbox);
          if (change.kind == storage::ChangeKind::appended && (appended.empty() || appended.back() != change.mailbox))
            appended.push_back(change.mailbox);
          seen_ = change.modseq;
        }
      }
      std::sort(touched.begin(), touched.end());
      touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
      ring_for(touched);
      if (listener_.appended && !appended.empty()) listener_.appended(appended);
    } catch (const std::exception& e) {
      log::error("-", "watcher_failed", "error={}", log::quoted(e.what()));
    }
  }
}

}  // namespace mailstead::imap
