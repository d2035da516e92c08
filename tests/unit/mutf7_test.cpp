#include "common/text/mutf7.hpp"

#include <gtest/gtest.h>

namespace mailstead::text {
namespace {

TEST(Mutf7, KnownExamples) {
  // RFC 3501 §5.1.3: "~peter/mail/台北/日本語"
  EXPECT_EQ(encode_mutf7("~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"),
            "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
  EXPECT_EQ(encode_mutf7("A&B"), "A&-B");
  EXPECT_EQ(encode_mutf7("Entw\xc3\xbcrfe"), "Entw&APw-rfe");
  EXPECT_EQ(*decode_mutf7("Entw&APw-rfe"), "Entw\xc3\xbcrfe");
  EXPECT_EQ(*decode_mutf7("&-"), "&");
  EXPECT_EQ(*decode_mutf7("plain"), "plain");
}

TEST(Mutf7, RoundTripsAstralAndMixedText) {
  for (std::string s : {"", "INBOX", "\xf0\x9f\x93\xa7 Mail",
                        "a\xc3\xa4\xc3\xb6\xc3\xbc"
                        "b&c",
                        "\xe2\x82\xac", "x\xf0\x9f\x98\x80\xf0\x9f\x98\x81y"}) {
    auto decoded = decode_mutf7(encode_mutf7(s));
    ASSERT_TRUE(decoded) << s;
    EXPECT_EQ(*decoded, s);
  }
}

TEST(Mutf7, RefusesMalformedInput) {
  for (auto bad : {"&", "&AGE", "&AGE-", "&ZeVnLIqe", "&2D3-", "&3gA-", "&AEE-", "a\xc3\xa4", "&A-", "&Zm9v*-"}) {
    EXPECT_FALSE(decode_mutf7(bad)) << bad;
  }
}

}  // namespace
}  // namespace mailstead::text
