#include "common/sasl/sasl.hpp"

#include <gtest/gtest.h>

#include "common/sasl/base64.hpp"
#include "common/text/utf8.hpp"

namespace mailstead::sasl {
namespace {

using namespace std::string_literals;

TEST(Base64, RoundTripsEveryLengthAndByte) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (std::size_t n = 0; n <= all.size(); ++n) {
    auto encoded = base64_encode(all.substr(0, n));
    auto decoded = base64_decode(encoded);
    ASSERT_TRUE(decoded) << n;
    EXPECT_EQ(*decoded, all.substr(0, n));
  }
}

TEST(Base64, KnownVectorsOfRfc4648) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(*base64_decode("Zm9vYg=="), "foob");
}

TEST(Base64, RefusesMalformedText) {
  for (auto bad : {"Zg", "Zg=", "Zm9v YmFy", "Zm9v\r\n", "Z===", "=Zm9", "Zg==Zg==", "Zm9*", "Zh==", "Zm9=", "Zm8=="}) {
    EXPECT_FALSE(base64_decode(bad)) << bad;
  }
}

TEST(Mechanism, NamesAreCaseInsensitive) {
  EXPECT_EQ(parse_mechanism("PLAIN"), Mechanism::plain);
  EXPECT_EQ(parse_mechanism("plain"), Mechanism::plain);
  EXPECT_EQ(parse_mechanism("Login"), Mechanism::login);
  EXPECT_FALSE(parse_mechanism("CRAM-MD5"));
  EXPECT_FALSE(parse_mechanism("PLAINX"));
  EXPECT_FALSE(parse_mechanism(""));
}

Credentials success(const Step& step) {
  EXPECT_TRUE(std::holds_alternative<Success>(step));
  return std::holds_alternative<Success>(step) ? std::get<Success>(step).credentials : Credentials{};
}

Failure failure(const Step& step) {
  EXPECT_TRUE(std::holds_alternative<Failed>(step));
  return std::holds_alternative<Failed>(step) ? std::get<Failed>(step).reason : Failure::cancelled;
}

TEST(Plain, InitialResponse) {
  ServerExchange ex(Mechanism::plain);
  auto c = success(ex.start(base64_encode("\0alice@example.test\0s3cret"s)));
  EXPECT_EQ(c.authzid, "");
  EXPECT_EQ(c.authcid, "alice@example.test");
  EXPECT_EQ(c.password.reveal(), "s3cret");
}

TEST(Plain, EmptyChallengeThenResponse) {
  ServerExchange ex(Mechanism::plain);
  auto first = ex.start(std::nullopt);
  ASSERT_TRUE(std::holds_alternative<Challenge>(first));
  EXPECT_EQ(std::get<Challenge>(first).base64, "");
  auto c = success(ex.respond(base64_encode("admin\0alice\0pw"s)));
  EXPECT_EQ(c.authzid, "admin");
  EXPECT_EQ(c.authcid, "alice");
  EXPECT_EQ(c.password.reveal(), "pw");
}

TEST(Plain, Utf8Credentials) {
  ServerExchange ex(Mechanism::plain);
  auto c = success(ex.start(base64_encode("\0j\xc3\xb6rg@example.test\0p\xc3\xa4ss"s)));
  EXPECT_EQ(c.authcid, "j\xc3\xb6rg@example.test");
}

TEST(Plain, MalformedMessages) {
  for (auto message : {"alice\0pw"s, "\0\0pw"s, "\0alice\0"s, ""s, "no nul at all"s, "\0alice\0pw\0extra"s,
                       "\0al\xff"
                       "ice\0pw"s,
                       "\0alice\0p\xc0\x80w"s, "\0"s + std::string(2000, 'a') + "\0pw"s}) {
    ServerExchange ex(Mechanism::plain);
    EXPECT_EQ(failure(ex.start(base64_encode(message))), Failure::malformed_message) << testing::PrintToString(message);
  }
}

TEST(Plain, EqualsSignIsAnEmptyInitialResponse) {
  ServerExchange ex(Mechanism::plain);
  EXPECT_EQ(failure(ex.start("=")), Failure::malformed_message);
}

TEST(Plain, MalformedBase64) {
  ServerExchange ex(Mechanism::plain);
  EXPECT_EQ(failure(ex.start("AGFsaWNlAHB3!")), Failure::malformed_base64);
  ServerExchange ex2(Mechanism::plain);
  ex2.start(std::nullopt);
  EXPECT_EQ(failure(ex2.respond("not base64")), Failure::malformed_base64);
}

TEST(Plain, StarCancels) {
  ServerExchange ex(Mechanism::plain);
  ex.start(std::nullopt);
  EXPECT_EQ(failure(ex.respond("*")), Failure::cancelled);
}

TEST(Login, TwoChallenges) {
  ServerExchange ex(Mechanism::login);
  auto first = ex.start(std::nullopt);
  ASSERT_TRUE(std::holds_alternative<Challenge>(first));
  EXPECT_EQ(*base64_decode(std::get<Challenge>(first).base64), "Username:");
  auto second = ex.respond(base64_encode("alice@example.test"));
  ASSERT_TRUE(std::holds_alternative<Challenge>(second));
  EXPECT_EQ(*base64_decode(std::get<Challenge>(second).base64), "Password:");
  auto c = success(ex.respond(base64_encode("s3cret")));
  EXPECT_EQ(c.authcid, "alice@example.test");
  EXPECT_EQ(c.password.reveal(), "s3cret");
}

TEST(Login, InitialResponseIsTheUserName) {
  ServerExchange ex(Mechanism::login);
  auto first = ex.start(base64_encode("alice"));
  ASSERT_TRUE(std::holds_alternative<Challenge>(first));
  EXPECT_EQ(*base64_decode(std::get<Challenge>(first).base64), "Password:");
  EXPECT_EQ(success(ex.respond(base64_encode("pw"))).authcid, "alice");
}

TEST(Login, CancelAndMalformed) {
  ServerExchange a(Mechanism::login);
  a.start(std::nullopt);
  EXPECT_EQ(failure(a.respond("*")), Failure::cancelled);
  ServerExchange b(Mechanism::login);
  b.start(std::nullopt);
  b.respond(base64_encode("alice"));
  EXPECT_EQ(failure(b.respond("*")), Failure::cancelled);
  ServerExchange c(Mechanism::login);
  c.start(std::nullopt);
  EXPECT_EQ(failure(c.respond("")), Failure::malformed_message);  // empty user name
  ServerExchange d(Mechanism::login);
  d.start(std::nullopt);
  d.respond(base64_encode("alice"));
  EXPECT_EQ(failure(d.respond(base64_encode("p\0w"s))), Failure::malformed_message);
}

TEST(Utf8, Validation) {
  EXPECT_TRUE(text::valid_utf8(""));
  EXPECT_TRUE(text::valid_utf8("plain ascii"));
  EXPECT_TRUE(text::valid_utf8("\xc3\xa4\xe2\x82\xac\xf0\x9f\x93\xa7"));  // ä € 📧
  EXPECT_FALSE(text::valid_utf8("\xc3"));                                 // truncated
  EXPECT_FALSE(text::valid_utf8("\xe2\x82"));                             // truncated
  EXPECT_FALSE(text::valid_utf8("\xc0\xaf"));                             // overlong
  EXPECT_FALSE(text::valid_utf8("\xe0\x80\xaf"));                         // overlong
  EXPECT_FALSE(text::valid_utf8("\xed\xa0\x80"));                         // surrogate
  EXPECT_FALSE(text::valid_utf8("\xf4\x90\x80\x80"));                     // above U+10FFFF
  EXPECT_FALSE(text::valid_utf8("\xff"));
  EXPECT_FALSE(text::valid_utf8("\x80"));
}

}  // namespace
}  // namespace mailstead::sasl
