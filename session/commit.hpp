#pragma once
// Awaiting a GroupCommitter from a session coroutine: the work runs on the committer's thread,
// and the session resumes on its own strand once the commit is durable.
//
// The only thing that crosses threads is a post to the session's strand that cancels a timer
// the session waits on; the session's completion handler never leaves its strand. (Handing
// the coroutine's own completion handler to the committer thread led to a use-after-free of
// the strand under AddressSanitizer.)

#include <atomic>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <exception>
#include <memory>
#include <stdexcept>

#include "common/net/asio.hpp"
#include "storage/group_commit.hpp"

namespace mailstead::session {

// Thrown by a unit of work to undo it for a reason of the client's, not a fault: a recipient
// over quota, a sending limit. Its own type, so that it is logged as the outcome it is and
// so that the committer never takes it for a store failure of the whole batch.
class Refused : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct CommitOutcome {
  std::exception_ptr error;  // null: durable
};

namespace detail {

struct PendingCommit {
  explicit PendingCommit(const net::asio::any_io_executor& executor) : wake(executor) {}
  net::asio::steady_timer wake;
  std::atomic<bool> done{false};
  std::exception_ptr error;  // written before `done`, read after it
};

}  // namespace detail

inline net::awaitable<CommitOutcome> commit(storage::GroupCommitter& committer, storage::GroupCommitter::Work work) {
  auto executor = co_await net::asio::this_coro::executor;
  // Once submitted, the work runs on the committer's thread and may read the caller's frames
  // (its captures are references): the wait must last until it is done, even when the caller
  // is cancelled meanwhile (the queue runner's stop() cancels deliveries). So cancellation does
  // not throw out of this wait; the caller sees it at its next wait after the commit. Without
  // this, ThreadSanitizer saw a frame freed under the committer at shutdown.
  bool throwing = co_await net::asio::this_coro::throw_if_cancelled();
  co_await net::asio::this_coro::throw_if_cancelled(false);
  auto pending = std::make_shared<detail::PendingCommit>(executor);
  pending->wake.expires_at(net::asio::steady_timer::time_point::max());
  committer.submit(std::move(work), [pending, executor](std::exception_ptr e) mutable {
    pending->error = e;
    pending->done.store(true, std::memory_order_release);
    // Moved, so that the last reference, and the timer with it, ends on the strand.
    net::asio::post(executor, [p = std::move(pending)] { p->wake.cancel(); });
  });
  // The strand runs the cancel only after this coroutine suspends, so the wake-up is not lost.
  while (!pending->done.load(std::memory_order_acquire)) co_await pending->wake.async_wait(net::use_tuple);
  co_await net::asio::this_coro::throw_if_cancelled(throwing);
  co_return CommitOutcome{pending->error};
}

}  // namespace mailstead::session
