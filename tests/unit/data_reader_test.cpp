#include "common/io/data_reader.hpp"

#include <gtest/gtest.h>

#include <string>

namespace mailstead::io {
namespace {

struct Outcome {
  std::string message;
  std::size_t consumed = 0;
  bool done = false;
  DataStatus status;
};

// Feeds `input` in pieces of `piece` bytes; stops feeding once the reader is done.
Outcome read_data(std::string_view input, std::size_t piece, std::uint64_t max_size = 1 << 20) {
  DotDataReader reader(max_size);
  Outcome out;
  Sink sink = [&](std::span<const char> bytes) { out.message.append(bytes.data(), bytes.size()); };
  std::size_t at = 0;
  while (at < input.size() && !reader.done()) {
    auto chunk = input.substr(at, piece);
    auto used = reader.feed(std::span<const char>(chunk.data(), chunk.size()), sink);
    at += used;
    if (used < chunk.size()) {
      EXPECT_TRUE(reader.done()) << "a reader stops early only at the end";
    }
  }
  out.consumed = at;
  out.done = reader.done();
  out.status = reader.status();
  return out;
}

// The same outcome for every piece size from 1 byte to the whole input.
Outcome read_all_ways(std::string_view input, std::uint64_t max_size = 1 << 20) {
  auto whole = read_data(input, input.size() + 1, max_size);
  for (std::size_t piece = 1; piece <= input.size(); ++piece) {
    auto split = read_data(input, piece, max_size);
    EXPECT_EQ(split.message, whole.message) << "piece " << piece;
    EXPECT_EQ(split.consumed, whole.consumed) << "piece " << piece;
    EXPECT_EQ(split.done, whole.done) << "piece " << piece;
    EXPECT_EQ(split.status.bare_lf, whole.status.bare_lf) << "piece " << piece;
    EXPECT_EQ(split.status.bare_cr, whole.status.bare_cr) << "piece " << piece;
  }
  return whole;
}

TEST(DotDataReader, EndsAtDotLineAndKeepsTheLastCrlf) {
  auto r = read_all_ways("Subject: hi\r\n\r\nbody\r\n.\r\nQUIT\r\n");
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.message, "Subject: hi\r\n\r\nbody\r\n");
  EXPECT_EQ(r.consumed, std::string_view("Subject: hi\r\n\r\nbody\r\n.\r\n").size());  // QUIT is left
  EXPECT_FALSE(r.status.bare_lf || r.status.bare_cr || r.status.too_big || r.status.nul);
}

TEST(DotDataReader, EmptyMessage) {
  auto r = read_all_ways(".\r\n");
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.message, "");
}

TEST(DotDataReader, RemovesDotStuffing) {
  auto r = read_all_ways("..\r\n...x\r\n.y\r\nz.\r\n.\r\n");
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.message, ".\r\n..x\r\ny\r\nz.\r\n");
}

TEST(DotDataReader, DotLineMidStreamNeedsItsOwnCrlf) {
  auto r = read_all_ways("a\r\n.\r\r\n.\r\n");
  EXPECT_TRUE(r.done);
  EXPECT_TRUE(r.status.bare_cr);
}

// SMTP smuggling: none of these forms may end the message; only <CRLF>.<CRLF> does.
TEST(DotDataReader, BareLineEndsNeverTerminate) {
  for (std::string_view fake : {"\n.\n", "\r\n.\n", "\n.\r\n", "\r.\r\n", "\r\n.\r", "\r.\r"}) {
    std::string input = "first\r\nx" + std::string(fake) + "MAIL FROM:<smuggled@x>\r\n";
    auto r = read_all_ways(input);
    EXPECT_FALSE(r.done) << "terminated by " << testing::PrintToString(std::string(fake));
    EXPECT_EQ(r.consumed, input.size());
    EXPECT_TRUE(r.status.bare_lf || r.status.bare_cr);
    auto ended = read_all_ways(input + ".\r\n");
    EXPECT_TRUE(ended.done);
  }
}

TEST(DotDataReader, FlagsBareLfAndBareCr) {
  EXPECT_TRUE(read_all_ways("a\nb\r\n.\r\n").status.bare_lf);
  EXPECT_FALSE(read_all_ways("a\nb\r\n.\r\n").status.bare_cr);
  EXPECT_TRUE(read_all_ways("a\rb\r\n.\r\n").status.bare_cr);
  EXPECT_FALSE(read_all_ways("a\rb\r\n.\r\n").status.bare_lf);
  EXPECT_TRUE(read_all_ways("a\r\r\n.\r\n").status.bare_cr);
}

TEST(DotDataReader, FlagsNul) {
  auto r = read_all_ways(std::string("a\0b\r\n.\r\n", 8));
  EXPECT_TRUE(r.status.nul);
  EXPECT_EQ(r.message, std::string("a\0b\r\n", 5));
}

TEST(DotDataReader, OverTheLimitIsCountedNotKept) {
  std::string body(100, 'x');
  auto r = read_all_ways(body + "\r\n.\r\nNEXT", 50);
  EXPECT_TRUE(r.done);
  EXPECT_TRUE(r.status.too_big);
  EXPECT_EQ(r.status.size, 102u);
  EXPECT_EQ(r.message.size(), 50u);
}

TEST(DotDataReader, ExactlyAtTheLimitIsFine) {
  auto r = read_all_ways("12345678\r\n.\r\n", 10);
  EXPECT_FALSE(r.status.too_big);
  EXPECT_EQ(r.message, "12345678\r\n");
}

TEST(DotDataReader, MeasuresTheLongestLine) {
  auto r = read_all_ways("ab\r\nabcdef\r\nabc\r\n.\r\n");
  EXPECT_EQ(r.status.longest_line, 8u);
}

TEST(DotDataReader, LargeMessageStreamsInChunks) {
  std::string line(998, 'q');
  std::string input;
  for (int i = 0; i < 100; ++i) input += line + "\r\n";
  DotDataReader reader(1 << 20);
  std::size_t calls = 0, bytes = 0;
  input += ".\r\n";
  reader.feed(std::span<const char>(input.data(), input.size()), [&](std::span<const char> s) {
    ++calls;
    bytes += s.size();
    EXPECT_LE(s.size(), 4096u);
  });
  EXPECT_TRUE(reader.done());
  EXPECT_EQ(bytes, 100000u);
  EXPECT_GT(calls, 1u);
}

TEST(CountedReader, TakesExactlyItsCount) {
  CountedReader reader(5);
  std::string out;
  Sink sink = [&](std::span<const char> s) { out.append(s.data(), s.size()); };
  std::string_view a = "abc";
  EXPECT_EQ(reader.feed(std::span<const char>(a.data(), a.size()), sink), 3u);
  EXPECT_FALSE(reader.done());
  EXPECT_EQ(reader.remaining(), 2u);
  std::string_view b = "defgh";
  EXPECT_EQ(reader.feed(std::span<const char>(b.data(), b.size()), sink), 2u);
  EXPECT_TRUE(reader.done());
  EXPECT_EQ(out, "abcde");
}

TEST(CountedReader, ZeroLengthIsDoneAtOnce) {
  CountedReader reader(0);
  EXPECT_TRUE(reader.done());
}

}  // namespace
}  // namespace mailstead::io
