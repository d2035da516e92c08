#include "common/text/line_ends.hpp"

#include <gtest/gtest.h>

namespace mailstead::text {
namespace {

TEST(LineEnds, ConvertsEveryLineEnd) {
  EXPECT_EQ(to_crlf("a\nb\r\nc\rd"), "a\r\nb\r\nc\r\nd");
  EXPECT_EQ(to_crlf("\r\r\n\n"), "\r\n\r\n\r\n");
  EXPECT_EQ(to_crlf(""), "");
}

TEST(LineEnds, RecognisesCleanText) {
  EXPECT_TRUE(has_only_crlf(""));
  EXPECT_TRUE(has_only_crlf("a\r\nb\r\n"));
  EXPECT_TRUE(has_only_crlf("no line end"));
  EXPECT_FALSE(has_only_crlf("\n"));
  EXPECT_FALSE(has_only_crlf("a\r\nb\n"));
  EXPECT_FALSE(has_only_crlf("a\rb\r\n"));
  EXPECT_FALSE(has_only_crlf("ends in CR\r"));
  EXPECT_FALSE(has_only_crlf("\n\r"));
}

}  // namespace
}  // namespace mailstead::text
