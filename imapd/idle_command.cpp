// IDLE (RFC 2177): the read of DONE and, beside it, a notifier that reports other sessions'
// changes as the change watcher rings.

#include <fmt/format.h>

#include "common/log/log.hpp"
#include "common/text/ascii.hpp"
#include "imapd/session_impl.hpp"

namespace mailstead::imap {

namespace asio = net::asio;

// --- IDLE (RFC 2177) --------------------------------------------------------------------------

net::awaitable<bool> Session::on_idle(const Command& command, const Idle&) {
  if (selected()) {
    sync_changes();
    report_updates(true);
  }
  talk_.send("+ idling\r\n");
  if (!co_await talk_.flush()) co_return false;
  idling_ = true;
  notifier_running_ = true;
  notifier_done_.emplace(connection().get_executor());
  notifier_done_->expires_at(asio::steady_timer::time_point::max());
  asio::co_spawn(connection().get_executor(), idle_notifier(), [this](const std::exception_ptr& e) {
    if (e) log::error(talk_.id(), "idle_notifier_failed", "error={}", log::quoted(log::describe(e)));
    notifier_running_ = false;
    notifier_done_->cancel();
  });
  auto result = co_await connection().read_line(cfg_.imapd.idle_timeout);
  idling_ = false;
  Doorbell::ring(bell_);
  while (notifier_running_) co_await notifier_done_->async_wait(net::use_tuple);
  if (mailbox_deleted_) {
    talk_.send(kMailboxDeleted);
    co_await talk_.flush();
    co_return false;
  }
  if (auto* closed = std::get_if<net::Closed>(&result)) {
    co_await talk_.goodbye(closed->why);
    co_return false;
  }
  auto* line = std::get_if<io::Line>(&result);
  if (!line || !text::iequals_ascii(line->text, "DONE")) co_return bad(command.tag, "Expected DONE to end IDLE");
  if (selected()) {
    sync_changes();
    report_updates(true);
  }
  tagged(command, "OK", "IDLE terminated");
  co_return true;
}

// Beside the read of DONE: reports changes as the watcher rings.
net::awaitable<void> Session::idle_notifier() {
  while (idling_) {
    // g++ 12 miscompiles a discarded co_await result here (SIGILL): keep it named.
    bool rung = true;
    if (selected() && contexts_pending())
      co_await net::yield_to_others();  // RFC 5267: updates left from the last slice, now
    else
      rung = co_await bell_->wait(std::chrono::hours(24));
    if (!idling_) break;
    if (!rung) continue;
    if (!selected()) continue;
    sync_changes();
    if (mailbox_deleted_) {
      connection().request_shutdown();  // ends the read of DONE; on_idle says goodbye
      break;
    }
    report_updates(true);
    if (!talk_.out().empty() && !co_await talk_.flush()) break;
  }
}

}  // namespace mailstead::imap
