#pragma once
// How an IMAP session learns, within a fraction of a second, that its mailbox changed in
// another session or another process (smtpd delivering, pop3d expunging): one watcher per
// process looks at the store's change counter every kPollInterval (one LMDB read), and when
// it moved, reads which mailboxes the new changes touched and wakes only the sessions that
// have one of them selected. A session then reads the changes itself (session_sync.cpp), so
// the watcher carries no state a session could miss. Idle sessions cost a map entry.
//
// Threading: the watcher runs on its own strand; a wake is a post to the session's executor
// that cancels the session's wait timer, so a session's timer is only touched on its strand.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>

#include "common/net/asio.hpp"
#include "storage/mailboxes.hpp"
#include "storage/store.hpp"

namespace mailstead::imap {

inline constexpr std::chrono::milliseconds kPollInterval{100};

// A session's doorbell: the watcher rings it, the session waits on it.
class Doorbell {
 public:
  explicit Doorbell(const net::asio::any_io_executor& executor) : timer_(executor), executor_(executor) {
    timer_.expires_at(net::asio::steady_timer::time_point::max());
  }
  // On the session's strand: wait for a ring (or `limit`); true if rung meanwhile.
  net::awaitable<bool> wait(std::chrono::steady_clock::duration limit);
  // From any thread.
  static void ring(const std::shared_ptr<Doorbell>& bell);

 private:
  bool take_ring() { return std::exchange(rung_, false); }
  net::asio::steady_timer timer_;
  net::asio::any_io_executor executor_;
  bool rung_ = false;  // on the strand
};

class ChangeWatcher {
 public:
  ChangeWatcher(net::asio::io_context& io, storage::Store& store);

  void start();
  void stop();  // from any thread

  // Told which mailboxes got messages, and when the log could no longer say (it was trimmed
  // past what the watcher read); set before start(). Called on the watcher's strand.
  struct AppendListener {
    std::function<void(const std::vector<storage::MailboxId>&)> appended;
    std::function<void()> lost;
  };
  void listen_for_appends(AppendListener listener) { listener_ = std::move(listener); }

  // A session that selected `mailbox` (replacing what it watched before); unwatch when done.
  void watch(const std::shared_ptr<Doorbell>& bell, storage::MailboxId mailbox);
  void unwatch(const Doorbell* bell);

 private:
  net::awaitable<void> loop();
  void ring_for(const std::vector<storage::MailboxId>& mailboxes);
  void ring_all();

  net::asio::strand<net::asio::io_context::executor_type> strand_;
  net::asio::steady_timer timer_;
  storage::Store& store_;
  std::uint64_t seen_ = 0;
  AppendListener listener_;
  bool stopping_ = false;  // on strand_

  std::mutex mutex_;
  std::multimap<storage::MailboxId, std::weak_ptr<Doorbell>> watchers_;
  std::map<const Doorbell*, storage::MailboxId> watched_;
};

}  // namespace mailstead::imap
