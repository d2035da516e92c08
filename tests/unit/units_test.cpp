#include "common/config/units.hpp"

#include <gtest/gtest.h>

namespace mailstead::config {
namespace {

using std::chrono::seconds;

template <class T>
T ok(const Parsed<T>& p) {
  EXPECT_TRUE(std::holds_alternative<T>(p)) << (std::holds_alternative<std::string>(p) ? std::get<std::string>(p) : "");
  return std::holds_alternative<T>(p) ? std::get<T>(p) : T{};
}

template <class T>
std::string error(const Parsed<T>& p) {
  EXPECT_TRUE(std::holds_alternative<std::string>(p));
  return std::holds_alternative<std::string>(p) ? std::get<std::string>(p) : "";
}

TEST(Duration, AcceptsEachUnit) {
  EXPECT_EQ(ok(parse_duration("0s")), seconds(0));
  EXPECT_EQ(ok(parse_duration("30s")), seconds(30));
  EXPECT_EQ(ok(parse_duration("5m")), seconds(300));
  EXPECT_EQ(ok(parse_duration("2h")), seconds(7200));
  EXPECT_EQ(ok(parse_duration("5d")), seconds(432000));
}

TEST(Duration, RefusesWhatIsNotOne) {
  EXPECT_NE(error(parse_duration("")).find("not a duration"), std::string::npos);
  EXPECT_NE(error(parse_duration("30")).find("no valid unit"), std::string::npos);
  EXPECT_NE(error(parse_duration("5 m")).find("no valid unit"), std::string::npos);
  EXPECT_NE(error(parse_duration("-5m")).find("not a duration"), std::string::npos);
  EXPECT_NE(error(parse_duration("1w")).find("no valid unit"), std::string::npos);
  EXPECT_NE(error(parse_duration("99999999999d")).find("too long"), std::string::npos);
  EXPECT_NE(error(parse_duration("99999999999999999999999s")).find("not a duration"), std::string::npos);
}

TEST(Duration, FormatsShortestExactForm) {
  EXPECT_EQ(format_duration(seconds(0)), "0s");
  EXPECT_EQ(format_duration(seconds(90)), "90s");
  EXPECT_EQ(format_duration(seconds(300)), "5m");
  EXPECT_EQ(format_duration(seconds(3600)), "1h");
  EXPECT_EQ(format_duration(seconds(86400 * 3)), "3d");
}

TEST(Size, AcceptsBinaryMultiples) {
  EXPECT_EQ(ok(parse_size("0")), 0u);
  EXPECT_EQ(ok(parse_size("512")), 512u);
  EXPECT_EQ(ok(parse_size("64K")), 65536u);
  EXPECT_EQ(ok(parse_size("50M")), 50u * 1024 * 1024);
  EXPECT_EQ(ok(parse_size("2G")), 2ull * 1024 * 1024 * 1024);
}

TEST(Size, RefusesWhatIsNotOne) {
  EXPECT_FALSE(error(parse_size("M")).empty());
  EXPECT_FALSE(error(parse_size("10MB")).empty());
  EXPECT_FALSE(error(parse_size("10k")).empty());
  EXPECT_FALSE(error(parse_size("99999999999999G")).empty());
}

TEST(Endpoint, ParsesIpv4Ipv6AndNames) {
  EXPECT_EQ(ok(parse_endpoint("0.0.0.0:25")), (Endpoint{"0.0.0.0", 25}));
  EXPECT_EQ(ok(parse_endpoint("[::]:143")), (Endpoint{"::", 143}));
  EXPECT_EQ(ok(parse_endpoint("[2001:db8::1]:993")), (Endpoint{"2001:db8::1", 993}));
  EXPECT_EQ(ok(parse_endpoint("localhost:2525")), (Endpoint{"localhost", 2525}));
  EXPECT_EQ(ok(parse_endpoint("[::1]:143")).to_string(), "[::1]:143");
  EXPECT_EQ(ok(parse_endpoint("127.0.0.1:110")).to_string(), "127.0.0.1:110");
}

TEST(Endpoint, RefusesBadForms) {
  for (auto text : {"", "25", ":25", "host", "host:", "host:0", "host:65536", "host:25x", "::1:143", "[::1]143",
                    "[::1]:", "[::1", "[]:25"}) {
    EXPECT_TRUE(std::holds_alternative<std::string>(parse_endpoint(text))) << text;
  }
}

}  // namespace
}  // namespace mailstead::config
