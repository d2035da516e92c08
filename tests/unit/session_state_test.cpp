// session::StateMachine: the one way a protocol session changes state, logged `from -> to`.
#include <gtest/gtest.h>

#include <string>

#include "session/state.hpp"

namespace mailstead::session {
namespace {

struct Waiting {
  static constexpr std::string_view kName = "waiting";
};
struct Working {
  static constexpr std::string_view kName = "working";
  std::string task;
};

TEST(StateMachine, StartsInTheFirstStateAndCarriesEachStatesData) {
  std::string id = "5e55107d";
  StateMachine<Waiting, Working> state(id);
  EXPECT_TRUE(state.is<Waiting>());
  EXPECT_EQ(state.name(), "waiting");
  auto& working = state.enter<Working>("fetch");
  EXPECT_EQ(working.task, "fetch");
  EXPECT_EQ(state.get_if<Waiting>(), nullptr);
  ASSERT_NE(state.get_if<Working>(), nullptr);
  EXPECT_EQ(state.as<Working>().task, "fetch");
  EXPECT_THROW(state.as<Waiting>(), std::bad_variant_access);
}

TEST(StateMachine, LogsEveryTransitionAtDebugLevel) {
  std::string id = "5e55107d";
  StateMachine<Waiting, Working> state(id);
  log::init("test", log::Level::debug);
  testing::internal::CaptureStderr();
  state.enter<Working>("fetch");
  state.enter<Waiting>();
  auto written = testing::internal::GetCapturedStderr();
  log::set_threshold(log::Level::info);
  EXPECT_NE(written.find("session=5e55107d event=state from=waiting to=working"), std::string::npos) << written;
  EXPECT_NE(written.find("session=5e55107d event=state from=working to=waiting"), std::string::npos) << written;

  testing::internal::CaptureStderr();
  state.enter<Working>("quiet");  // below the threshold: nothing written
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
}

}  // namespace
}  // namespace mailstead::session
