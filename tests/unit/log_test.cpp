#include "common/log/log.hpp"

#include <gtest/gtest.h>

#include "common/secret.hpp"

namespace mailstead::log {
namespace {

TEST(Log, QuotedEscapesControlCharactersAndQuotes) {
  EXPECT_EQ(escape(quoted("plain")), "\"plain\"");
  EXPECT_EQ(escape(quoted("a\"b\\c")), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(escape(quoted("line\r\nforged event=login")), "\"line\\x0d\\x0aforged event=login\"");
  EXPECT_EQ(escape(quoted(std::string_view("\0\x7f", 2))), "\"\\x00\\x7f\"");
  EXPECT_EQ(escape(quoted("caf\xc3\xa9")), "\"caf\xc3\xa9\"");
}

TEST(Log, QuotedCutsLongText) {
  EXPECT_EQ(escape(quoted("abcdefgh", 3)), "\"abc...\"");
  EXPECT_EQ(escape(quoted("abc", 3)), "\"abc\"");
}

TEST(Log, FormatsThroughFmt) {
  EXPECT_EQ(fmt::format("x={}", quoted("a b")), "x=\"a b\"");
}

TEST(Log, SessionIdsAreDistinct) {
  auto a = new_session_id();
  auto b = new_session_id();
  EXPECT_EQ(a.size(), 8u);
  EXPECT_NE(a, b);
}

TEST(Secret, NeverFormatsItsValue) {
  Secret s("hunter2");
  EXPECT_EQ(fmt::format("password={}", s), "password=<redacted>");
  EXPECT_EQ(s.reveal(), "hunter2");
}

TEST(Secret, MovedFromIsEmpty) {
  Secret a("hunter2");
  Secret b(std::move(a));
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): the wipe is the contract
  EXPECT_EQ(b.reveal(), "hunter2");
}

}  // namespace
}  // namespace mailstead::log
