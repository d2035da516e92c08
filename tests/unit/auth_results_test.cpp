// Authentication-Results (RFC 8601): the field smtpd writes, and the removal of fields from
// outside that claim its authserv-id.
#include "smtpd/auth_results.hpp"

#include <gtest/gtest.h>

#include "common/config/config.hpp"
#include "smtpd/dkim_signing.hpp"
#include "smtpd/inbound_checks.hpp"
#include "smtpd/message_edit.hpp"

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

TEST(AuthorDomains, DistinctALabelsInOrderWithinTheBound) {
  auto message = std::string(
      "Subject: x\r\nFrom: Ann <ann@Example.ORG>, team: bo@b\u00fccher.example, ann2@example.org;,\r\n"
      " c@third.example\r\n\r\nbody\r\n");
  EXPECT_EQ(author_domains(message, 5),
            (std::vector<std::string>{"example.org", "xn--bcher-kva.example", "third.example"}));
  EXPECT_EQ(author_domains(message, 1), std::vector<std::string>{"example.org"});
  EXPECT_TRUE(author_domains("Subject: no author\r\n\r\n", 5).empty());
  // DKIM signs for the first.
  EXPECT_EQ(author_domain(message), "example.org");
}

TEST(DnsLists, NamesListingsAndConfig) {
  // RFC 5782 §2.1, §2.4.
  EXPECT_EQ(reversed_address(net::asio::ip::make_address("192.0.2.99")), "99.2.0.192");
  EXPECT_EQ(reversed_address(net::asio::ip::make_address("::ffff:192.0.2.99")), "99.2.0.192");
  EXPECT_EQ(reversed_address(net::asio::ip::make_address("2001:db8:1:2:3:4:567:89ab")),
            "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2");
  auto answer = [](std::string bytes) {
    return dns::Answer{dns::Status::ok, {{"x", dns::Type::a, 60, std::move(bytes), 0}}, ""};
  };
  EXPECT_TRUE(is_listing(answer(std::string("\x7f\x00\x00\x02", 4))));
  EXPECT_TRUE(is_listing(answer(std::string("\x7f\x00\x0a\x03", 4))));
  EXPECT_FALSE(is_listing(answer(std::string("\x7f\x00\x00\x01", 4))));  // never a listing
  EXPECT_FALSE(is_listing(answer(std::string("\x7f\xff\xff\xfe", 4))));  // "query refused"
  EXPECT_FALSE(is_listing(answer(std::string("\x0a\x00\x00\x02", 4))));  // not 127/8
  EXPECT_FALSE(is_listing({dns::Status::nxdomain, {}, ""}));

  EXPECT_EQ(config::parse_dns_list("zen.spamhaus.org")->weight, 1);
  EXPECT_EQ(config::parse_dns_list("list.dnswl.org*-2")->weight, -2);
  EXPECT_EQ(config::parse_dns_list("list.dnswl.org*-2")->zone, "list.dnswl.org");
  for (const char* bad : {"", "nodots", "a..b", ".a.b", "a.b*", "a.b*0", "a.b*x", "a.b*101", "a b.c", "a.b*1*2"})
    EXPECT_FALSE(config::parse_dns_list(bad)) << bad;
}

}  // namespace
}  // namespace mailstead::smtp
