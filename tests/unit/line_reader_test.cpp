#include "common/io/line_reader.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

namespace mailstead::io {
namespace {

// What a reader reports, as text: "L:<line>", with "+CR"/"+LF" for bare endings, or "TOO_LONG".
using Events = std::vector<std::string>;

std::string describe(const LineEvent& event) {
  if (auto* line = std::get_if<Line>(&event)) {
    std::string out = "L:" + std::string(line->text);
    if (line->bare_cr) out += "+CR";
    if (line->bare_lf) out += "+LF";
    return out;
  }
  return "TOO_LONG";
}

// Feeds `input` in pieces cut at `cuts` (offsets), draining events after each piece.
Events feed(LineReader& reader, std::string_view input, const std::vector<std::size_t>& cuts) {
  Events events;
  std::size_t at = 0;
  auto pieces = cuts;
  pieces.push_back(input.size());
  for (auto cut : pieces) {
    while (at < cut) {
      auto space = reader.prepare();
      EXPECT_FALSE(space.empty()) << "the reader must always have room after NeedMore";
      if (space.empty()) return events;
      auto n = std::min(space.size(), cut - at);
      std::memcpy(space.data(), input.data() + at, n);
      reader.commit(n);
      at += n;
      for (auto e = reader.next(); !std::holds_alternative<NeedMore>(e); e = reader.next())
        events.push_back(describe(e));
    }
  }
  return events;
}

Events feed_whole(std::string_view input, std::size_t max_line = 64) {
  LineReader reader(max_line);
  return feed(reader, input, {});
}

// The same events whether the input arrives whole, byte by byte, or split at any one point.
void expect_events(std::string_view input, const Events& expected, std::size_t max_line = 64) {
  EXPECT_EQ(feed_whole(input, max_line), expected) << "whole";
  {
    LineReader reader(max_line);
    std::vector<std::size_t> cuts;
    for (std::size_t i = 1; i < input.size(); ++i) cuts.push_back(i);
    EXPECT_EQ(feed(reader, input, cuts), expected) << "byte by byte";
  }
  for (std::size_t cut = 1; cut < input.size(); ++cut) {
    LineReader reader(max_line);
    EXPECT_EQ(feed(reader, input, {cut}), expected) << "split at " << cut;
  }
}

TEST(LineReader, SplitsCrlfLines) {
  expect_events("EHLO x\r\nMAIL FROM:<a@b>\r\n\r\nQUIT\r\n", {"L:EHLO x", "L:MAIL FROM:<a@b>", "L:", "L:QUIT"});
}

TEST(LineReader, IncompleteLineWaits) {
  expect_events("NOOP\r\nQU", {"L:NOOP"});
  expect_events("NOOP\r", {});
}

TEST(LineReader, HasLineSaysWhetherNextNeedsMoreInput) {
  LineReader reader(64);
  auto put = [&](std::string_view text) {
    auto space = reader.prepare();
    std::memcpy(space.data(), text.data(), text.size());
    reader.commit(text.size());
  };
  EXPECT_FALSE(reader.has_line());
  put("NOOP\r\nQU");
  EXPECT_TRUE(reader.has_line());
  EXPECT_TRUE(std::holds_alternative<Line>(reader.next()));
  EXPECT_FALSE(reader.has_line());  // "QU" waits for the rest
  put("IT\r\n");
  EXPECT_TRUE(reader.has_line());
}

TEST(LineReader, BareLfIsReported) {
  expect_events("A\nB\r\n\n", {"L:A+LF", "L:B", "L:+LF"});
}

TEST(LineReader, BareCrIsReported) {
  expect_events("A\rB\r\nC\r\r\n", {"L:A\rB+CR", "L:C\r+CR"});
}

TEST(LineReader, LimitIncludesCrlf) {
  std::string exact(62, 'x');
  expect_events(exact + "\r\n", {"L:" + exact}, 64);
  std::string over(63, 'x');
  expect_events(over + "\r\nNEXT\r\n", {"TOO_LONG", "L:NEXT"}, 64);
}

TEST(LineReader, OverLongLineIsReportedOnceAndSkipped) {
  std::string huge(1000, 'A');
  expect_events("OK\r\n" + huge + "\r\nAFTER\r\n", {"L:OK", "TOO_LONG", "L:AFTER"}, 64);
}

TEST(LineReader, OverLongLineEndingWithBareLf) {
  expect_events(std::string(100, 'A') + "\nAFTER\r\n", {"TOO_LONG", "L:AFTER"}, 64);
}

TEST(LineReader, NeverHoldsMoreThanItsLimit) {
  LineReader reader(64);
  std::size_t received = 0;
  for (int i = 0; i < 1000; ++i) {
    auto space = reader.prepare();
    ASSERT_FALSE(space.empty());
    ASSERT_LE(reader.buffered().size() + space.size(), 64u);
    std::fill(space.begin(), space.end(), 'z');
    reader.commit(space.size());
    received += space.size();
    while (!std::holds_alternative<NeedMore>(reader.next())) {
    }
  }
  EXPECT_GT(received, 10000u);
  EXPECT_LE(reader.buffered().size(), 64u);
}

TEST(LineReader, NulBytesStayInTheLine) {
  expect_events(std::string("A\0B\r\n", 5), {std::string("L:A\0B", 5)});
}

TEST(LineReader, BufferedBytesCanBeTakenRaw) {
  LineReader reader(64);
  std::string input = "DATA\r\nraw bytes";
  auto space = reader.prepare();
  std::memcpy(space.data(), input.data(), input.size());
  reader.commit(input.size());
  EXPECT_EQ(describe(reader.next()), "L:DATA");
  auto rest = reader.buffered();
  EXPECT_EQ(std::string_view(rest.data(), rest.size()), "raw bytes");
  reader.consume(4);
  auto after = reader.buffered();
  EXPECT_EQ(std::string_view(after.data(), after.size()), "bytes");
}

TEST(LineReader, DiscardForgetsPipelinedInput) {
  LineReader reader(64);
  std::string input = "STARTTLS\r\nMAIL FROM:<evil@x>\r\n";
  auto space = reader.prepare();
  std::memcpy(space.data(), input.data(), input.size());
  reader.commit(input.size());
  EXPECT_EQ(describe(reader.next()), "L:STARTTLS");
  reader.discard_buffered();
  EXPECT_TRUE(std::holds_alternative<NeedMore>(reader.next()));
  EXPECT_EQ(feed(reader, "EHLO y\r\n", {}), Events{"L:EHLO y"});
}

TEST(LineReader, DiscardEndsSkippingOfAnOverLongLine) {
  LineReader reader(16);
  EXPECT_EQ(feed(reader, std::string(40, 'x'), {}), Events{"TOO_LONG"});
  reader.discard_buffered();
  EXPECT_EQ(feed(reader, "NEW\r\n", {}), Events{"L:NEW"});
}

TEST(LineReader, GrowsForLongLinesAndBulkAndShrinksWhenQuiet) {
  LineReader reader(64 * 1024);
  EXPECT_EQ(reader.capacity(), LineReader::kInitialSize);
  std::string long_line(10000, 'x');
  EXPECT_EQ(feed(reader, long_line + "\r\n", {}), Events{"L:" + long_line});
  EXPECT_GE(reader.capacity(), 10002u);
  EXPECT_LE(reader.capacity(), 64u * 1024);
  // A small line, all read: the next prepare() gives back the big buffer.
  EXPECT_EQ(feed(reader, "a\r\n", {}), Events{"L:a"});
  reader.prepare();
  EXPECT_EQ(reader.capacity(), LineReader::kInitialSize);
  // A read that fills everything offered is a bulk transfer: room doubles once it is consumed.
  auto space = reader.prepare();
  std::fill(space.begin(), space.end(), 'y');
  reader.commit(space.size());
  reader.consume(reader.buffered().size());
  EXPECT_EQ(reader.prepare().size(), 2 * LineReader::kInitialSize);
  // Never beyond the limit: a line of max_line bytes without an end is too long.
  LineReader small(6000);
  EXPECT_EQ(feed(small, std::string(7000, 'z') + "\r\nok\r\n", {}), (Events{"TOO_LONG", "L:ok"}));
  EXPECT_LE(small.capacity(), 6000u);
}

}  // namespace
}  // namespace mailstead::io
