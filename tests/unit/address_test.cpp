#include "storage/address.hpp"

#include <gtest/gtest.h>

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
  EXPECT_EQ(normalize_domain("xn--bcher-kva.example"), "xn--bcher-kva.example");
  EXPECT_EQ(normalize_domain("b\xc3\xbc"
                             "cher.example"),
            "b\xc3\xbc"
            "cher.example");
  EXPECT_EQ(normalize_domain("localhost"), "localhost");
  for (auto bad : {"", ".", "a..b", "-a.test", "a-.test", "a_b.test", "a b.test", "[192.0.2.1]", "a.test..",
                   "exa\xff"
                   "mple.test"}) {
    EXPECT_FALSE(normalize_domain(bad)) << bad;
  }
  EXPECT_FALSE(normalize_domain(std::string(64, 'a') + ".test"));
  EXPECT_TRUE(normalize_domain(std::string(63, 'a') + ".test"));
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
