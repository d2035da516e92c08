// Raw DEFLATE for IMAP COMPRESS (common/io/deflate): batches continue one stream, the inflater
// gives out no more than the room it is handed (a small input that inflates to gigabytes is
// held back), and what is not DEFLATE is refused.
#include "common/io/deflate.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mailstead::io {
namespace {

std::string inflate_all(Inflater& inflater, std::string_view compressed) {
  std::string out;
  std::vector<char> room(1000);
  while (!compressed.empty()) {
    auto progress = inflater.inflate(compressed, room);
    EXPECT_TRUE(progress);
    if (!progress) break;
    out.append(room.data(), progress->produced);
    compressed.remove_prefix(progress->consumed);
    if (progress->consumed == 0 && progress->produced == 0) break;
  }
  return out;
}

TEST(Deflate, BatchesContinueOneStream) {
  Inflater inflater;
  std::string first = "* OK [CAPABILITY IMAP4rev1] ready\r\n";
  std::string second;
  for (int i = 0; i < 2000; ++i) second += "* " + std::to_string(i) + " FETCH (FLAGS (\\Seen))\r\n";
  auto a = deflate_batch(first);
  auto b = deflate_batch(second);
  EXPECT_LT(b.size(), second.size() / 5);  // it does compress
  // Each batch decodes whole as soon as it has arrived (the sync flush), in pieces or not.
  EXPECT_EQ(inflate_all(inflater, a), first);
  std::string got;
  for (std::size_t at = 0; at < b.size(); at += 7) got += inflate_all(inflater, std::string_view(b).substr(at, 7));
  EXPECT_EQ(got, second);
  EXPECT_EQ(inflate_all(inflater, deflate_batch("")), "");
}

TEST(Deflate, OutputIsBoundedByTheRoomGiven) {
  std::string zeros(64 << 20, 'a');  // 64 MiB that compress to about 64 KiB
  auto bomb = deflate_batch(zeros);
  EXPECT_LT(bomb.size(), 100u << 10);
  Inflater inflater;
  std::vector<char> room(4096);
  auto progress = inflater.inflate(bomb, room);
  ASSERT_TRUE(progress);
  EXPECT_EQ(progress->produced, room.size());
  EXPECT_LT(progress->consumed, bomb.size());  // the rest waits until there is room
}

TEST(Deflate, WhatIsNotDeflateIsRefused) {
  Inflater inflater;
  std::vector<char> room(100);
  std::string junk(64, '\xff');  // reserved block type 3
  EXPECT_FALSE(inflater.inflate(junk, room));
}

}  // namespace
}  // namespace mailstead::io
