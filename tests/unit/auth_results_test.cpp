// Authentication-Results (RFC 8601): the field smtpd writes, and the removal of fields from
// outside that claim its authserv-id.
#include "smtpd/auth_results.hpp"

#include <gtest/gtest.h>

namespace mailstead::smtp {
namespace {

TEST(AuthResults, WritesEachResultOnALineOfItsOwn) {
  std::vector<MethodResult> results = {
      {"dkim", "pass", "", {{"header.d", "example.org"}, {"header.s", "sel"}, {"header.b", "abc/def+"}}},
      {"dkim", "fail", "body hash did not verify (changed)", {{"header.d", "example.net"}}},
  };
  EXPECT_EQ(authentication_results("mx.example.test", results),
            "Authentication-Results: mx.example.test;\r\n"
            "\tdkim=pass header.d=example.org header.s=sel header.b=\"abc/def+\";\r\n"
            "\tdkim=fail (body hash did not verify \\(changed\\)) header.d=example.net\r\n");
  // §2.2: nothing was checked.
  EXPECT_EQ(authentication_results("mx.example.test", {}), "Authentication-Results: mx.example.test; none\r\n");
}

TEST(AuthResults, FoldsLongResultsWithinTheLine) {
  MethodResult r{"dkim", "permerror", std::string(60, 'x'), {{"header.d", "example.org"}}};
  auto field = authentication_results("mx.example.test", {r});
  std::size_t start = 0;
  for (auto end = field.find("\r\n"); end != std::string::npos; start = end + 2, end = field.find("\r\n", start))
    EXPECT_LE(end - start, 78u) << field;
}

TEST(AuthResults, ReadsTheAuthservId) {
  EXPECT_EQ(authserv_id_of(" mx.example.test; dkim=pass"), "mx.example.test");
  EXPECT_EQ(authserv_id_of(" mx.example.test 1; none"), "mx.example.test");  // a version follows
  EXPECT_EQ(authserv_id_of(" (a comment (nested)) mx.example.test;"), "mx.example.test");
  EXPECT_EQ(authserv_id_of(" \"mx.example.test\"; none"), "mx.example.test");
  EXPECT_EQ(authserv_id_of("\r\n\tmx.example.test;"), "mx.example.test");
  EXPECT_EQ(authserv_id_of(""), "");
}

TEST(AuthResults, RemovesOnlyFieldsClaimingOurId) {
  std::string message =
      "Received: from a\r\n"
      "Authentication-Results: MX.Example.Test; dkim=pass\r\n"
      "Authentication-Results: other.example; dkim=fail\r\n"
      "authentication-results: (forged)\r\n mx.example.test; spf=pass\r\n"
      "Subject: Authentication-Results: mx.example.test; x\r\n"
      "\r\n"
      "Authentication-Results: mx.example.test; in the body\r\n";
  EXPECT_EQ(strip_our_results(message, "mx.example.test"), 2u);
  EXPECT_EQ(message,
            "Received: from a\r\n"
            "Authentication-Results: other.example; dkim=fail\r\n"
            "Subject: Authentication-Results: mx.example.test; x\r\n"
            "\r\n"
            "Authentication-Results: mx.example.test; in the body\r\n");
  // A message that is all header, its last field the one removed.
  std::string header_only = "From: a@b\r\nAuthentication-Results: mx.example.test; none\r\n";
  EXPECT_EQ(strip_our_results(header_only, "mx.example.test"), 1u);
  EXPECT_EQ(header_only, "From: a@b\r\n");
}

}  // namespace
}  // namespace mailstead::smtp
