// net::supervise: a background loop that throws is logged and started again; one that returns
// has finished.
#include "common/net/supervise.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace mailstead::net {
namespace {

struct Loop {
  int runs = 0;
  int fail_first = 0;  // how many runs throw before one returns
  awaitable<void> run() {
    ++runs;
    if (runs <= fail_first) throw std::runtime_error("the store said no");
    co_return;
  }
};

TEST(Supervise, RestartsALoopThatThrowsAndLogsWhy) {
  asio::io_context io;
  Loop loop{0, 2};
  log::init("test", log::Level::info);
  testing::internal::CaptureStderr();
  supervise(
      io.get_executor(), "test_loop", [&loop] { return loop.run(); }, std::chrono::milliseconds(1));
  io.run();
  auto written = testing::internal::GetCapturedStderr();
  EXPECT_EQ(loop.runs, 3);  // two failures, then a run that returned: finished
  EXPECT_NE(written.find("event=loop_failed loop=test_loop error=\"the store said no\" restart_in_ms=1"),
            std::string::npos)
      << written;
}

TEST(Supervise, ALoopThatReturnsIsNotRestarted) {
  asio::io_context io;
  Loop loop{0, 0};
  supervise(
      io.get_executor(), "test_loop", [&loop] { return loop.run(); }, std::chrono::milliseconds(1));
  io.run();
  EXPECT_EQ(loop.runs, 1);
}

}  // namespace
}  // namespace mailstead::net
