#include "common/net/password_pool.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace mailstead::net {
namespace {

// Several sessions verify at once; each resumes on its own executor's thread with its verdict.
TEST(PasswordPool, VerifiesOffTheLoopAndResumesOnIt) {
  asio::io_context io;
  PasswordPool pool(2);
  auto hash = auth::hash_password("right");
  auto loop_thread = std::this_thread::get_id();
  int matches = 0, mismatches = 0;
  for (int i = 0; i < 6; ++i) {
    asio::co_spawn(
        io,
        [&, i]() -> awaitable<void> {
          auto verdict = co_await pool.verify(Secret(i % 2 ? "right" : "wrong"), hash);
          EXPECT_EQ(std::this_thread::get_id(), loop_thread);
          (verdict == auth::Verdict::match ? matches : mismatches)++;
        },
        asio::detached);
  }
  io.run();
  EXPECT_EQ(matches, 3);
  EXPECT_EQ(mismatches, 3);
}

}  // namespace
}  // namespace mailstead::net
