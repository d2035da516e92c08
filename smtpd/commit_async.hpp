#pragma once
// Awaiting a GroupCommitter from a session coroutine: the work runs on the committer's thread,
// and the session resumes on its own strand once the commit is durable.

#include <exception>
#include <memory>

#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>

#include "common/net/asio.hpp"
#include "storage/group_commit.hpp"

namespace mailstead::smtp {

struct CommitOutcome {
  std::exception_ptr error;  // null: durable
};

inline net::awaitable<CommitOutcome> commit(storage::GroupCommitter& committer, storage::GroupCommitter::Work work) {
  auto executor = co_await net::asio::this_coro::executor;
  co_return co_await net::asio::async_initiate<decltype(net::asio::use_awaitable), void(CommitOutcome)>(
      [&committer, executor](auto handler, storage::GroupCommitter::Work w) {
        // std::function needs a copyable callable; the coroutine's handler is move-only.
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        auto guard = std::make_shared<decltype(net::asio::make_work_guard(executor))>(net::asio::make_work_guard(executor));
        committer.submit(std::move(w), [shared, guard, executor](std::exception_ptr e) {
          net::asio::post(executor, [shared, guard, e]() mutable { (*shared)(CommitOutcome{e}); });
        });
      },
      net::asio::use_awaitable, std::move(work));
}

}  // namespace mailstead::smtp
