#include "storage/address.hpp"

#include <gtest/gtest.h>

#include "common/text/idn.hpp"

namespace mailstead::storage {
namespace {

TEST(Address, SplitsAtTheLastAt) {
  auto a = split_address("alice@example.test");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->local, "alice");
  EXPECT_EQ(a->domain, "example.test");
  auto quoted = split_address("\"a@b\"@example.test");
  ASSERT_TRUE(quoted);
  EXPECT_EQ(quoted->local, "\"a@b\"");
  EXPECT_FALSE(split_address("alice"));
  EXPECT_FALSE(split_address("@example.test"));
  EXPECT_FALSE(split_address("alice@"));
}

TEST(Address, NormalizesDomains) {
  EXPECT_EQ(normalize_domain("Example.TEST"), "example.test");
  EXPECT_EQ(normalize_domain("example.test."), "example.test");
  // One domain, whichever way it is written: A-labels, U-labels, Unicode upper case, or a
  // full-width dot (UTS #46 maps them all); the U-label form is the one kept.
  const std::string buecher =
      "b\xc3\xbc"
      "cher.example";
  EXPECT_EQ(normalize_domain("xn--bcher-kva.example"), buecher);
  EXPECT_EQ(normalize_domain("XN--BCHER-KVA.example."), buecher);
  EXPECT_EQ(normalize_domain(buecher), buecher);
  EXPECT_EQ(normalize_domain("B\xc3\x9c"
                             "CHER.Example"),
            buecher);
  EXPECT_EQ(normalize_domain("b\xc3\xbc"
                             "cher\xef\xbc\x8e"
                             "example"),
            buecher);
  EXPECT_EQ(normalize_domain("xn--4gbrim.xn--ygbi2ammx"),
            "\xd9\x85\xd9\x88\xd9\x82\xd8\xb9.\xd9\x81\xd9\x84\xd8\xb3\xd8\xb7\xd9\x8a\xd9\x86");
  EXPECT_EQ(normalize_domain("localhost"), "localhost");
  for (auto bad : {"", ".", "a..b", "-a.test", "a-.test", "a_b.test", "a b.test", "[192.0.2.1]", "a.test..",
                   "exa\xff"
                   "mple.test"}) {
    EXPECT_FALSE(normalize_domain(bad)) << bad;
  }
  EXPECT_FALSE(normalize_domain(std::string(64, 'a') + ".test"));
  EXPECT_TRUE(normalize_domain(std::string(63, 'a') + ".test"));
}

TEST(Address, DnsAsksForALabels) {
  EXPECT_EQ(text::domain_to_ascii("b\xc3\xbc"
                                  "cher.Example"),
            "xn--bcher-kva.example");
  EXPECT_EQ(text::domain_to_ascii("Mail.Example.COM"), "mail.example.com");
  EXPECT_EQ(text::domain_to_ascii("xn--bcher-kva.example"), "xn--bcher-kva.example");
  EXPECT_FALSE(text::is_idn("mail.example.com"));
  EXPECT_TRUE(text::is_idn("mail.XN--bcher-kva.example"));
}

TEST(Address, LocalPartRules) {
  for (auto good : {"alice", "alice.smith", "a+b", "o'brien", "j\xc3\xb6rg", "x_y-z"}) {
    EXPECT_FALSE(local_part_problem(good)) << good;
  }
  for (auto bad : {"", ".alice", "alice.", "a..b", "a b", "a@b", "a\"b", "a<b", "a\\b", "a,b", "a\tb", "\xff"}) {
    EXPECT_TRUE(local_part_problem(bad)) << bad;
  }
  EXPECT_TRUE(local_part_problem(std::string(65, 'a')));
}

TEST(Address, KeysFoldCaseUnlessTold) {
  AddressPolicy insensitive;
  EXPECT_EQ(address_key("Alice", "example.test", insensitive), "alice@example.test");
  AddressPolicy sensitive;
  sensitive.case_sensitive_local_parts = true;
  EXPECT_EQ(address_key("Alice", "example.test", sensitive), "Alice@example.test");
}

TEST(Address, StripsTheTagAtTheFirstSeparator) {
  AddressPolicy plus;
  EXPECT_EQ(strip_tag("alice+lists", plus), "alice");
  EXPECT_EQ(strip_tag("alice+a+b", plus), "alice");
  EXPECT_FALSE(strip_tag("alice", plus));
  EXPECT_FALSE(strip_tag("+alice", plus));
  AddressPolicy dash;
  dash.plus_separator = "-";
  EXPECT_EQ(strip_tag("alice-lists", dash), "alice");
  AddressPolicy off;
  off.plus_separator = "";
  EXPECT_FALSE(strip_tag("alice+lists", off));
}

}  // namespace
}  // namespace mailstead::storage
