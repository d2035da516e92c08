// UpdatingResult (imapd/proto/search_context.hpp): the ADDTO and REMOVEFROM a kept-up-to-date
// search or sort sends (RFC 5267 §4.3), applied the way a client applies them, must give the
// server's result, in its order, after every change.

#include "imapd/proto/search_context.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace mailstead::imap {
namespace {

using Uid = UpdatingResult::Uid;

// "1:3,7" in the order written, a range ascending (RFC 5267 §3.2).
std::vector<Uid> parse_set(const std::string& text) {
  std::vector<Uid> out;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, ',')) {
    auto colon = part.find(':');
    if (colon == std::string::npos) {
      out.push_back(static_cast<Uid>(std::stoul(part)));
      continue;
    }
    auto a = static_cast<Uid>(std::stoul(part.substr(0, colon)));
    auto b = static_cast<Uid>(std::stoul(part.substr(colon + 1)));
    EXPECT_LT(a, b) << "a range is written ascending";
    for (auto n = a; n <= b; ++n) out.push_back(n);
  }
  return out;
}

// Applies " REMOVEFROM (p set ...) ADDTO (p set ...)" as §4.3.3 and §4.3.4 tell a client to.
void apply_changes(std::vector<Uid>& client, const std::string& items) {
  std::stringstream in(items);
  std::string name;
  while (in >> name) {
    ASSERT_TRUE(name == "REMOVEFROM" || name == "ADDTO") << items;
    char open = 0;
    in >> open;
    ASSERT_EQ(open, '(');
    std::string rest;
    std::getline(in, rest, ')');
    std::stringstream pairs(rest);
    std::size_t position = 0;
    std::string set;
    while (pairs >> position >> set) {
      auto numbers = parse_set(set);
      for (std::size_t i = 0; i < numbers.size(); ++i) {
        const auto n = numbers[i];
        if (name == "REMOVEFROM") {
          if (position == 0) {
            auto it = std::find(client.begin(), client.end(), n);
            ASSERT_NE(it, client.end()) << n << " is not in the result: " << items;
            client.erase(it);
          } else {
            ASSERT_LT(position - 1, client.size()) << items;
            ASSERT_EQ(client[position - 1], n) << items;  // the set starts at its position
            client.erase(client.begin() + static_cast<std::ptrdiff_t>(position - 1));
          }
        } else if (position == 0) {
          client.insert(std::upper_bound(client.begin(), client.end(), n), n);  // mailbox order
        } else {
          ASSERT_LE(position - 1 + i, client.size()) << items;
          client.insert(client.begin() + static_cast<std::ptrdiff_t>(position - 1 + i), n);
        }
      }
    }
  }
}

TEST(UpdatingResult, SearchChangesCarryPositionZeroInMailboxOrder) {
  UpdatingResult result({2, 3, 5}, false);
  auto uid = [](Uid n) { return n; };
  EXPECT_EQ(result.remove({1, 3, 5, 9}, uid), " REMOVEFROM (0 3,5)");
  EXPECT_EQ(result.add({4, 6, 7}, nullptr, uid), " ADDTO (0 4,6:7)");
  EXPECT_EQ(result.order(), (std::vector<Uid>{2, 4, 6, 7}));
  EXPECT_EQ(result.remove({1, 3}, uid), "");
  EXPECT_EQ(result.add({}, nullptr, uid), "");
  // Sequence numbers: what the caller's mapping says.
  EXPECT_EQ(result.remove({6}, [](Uid n) { return n - 1; }), " REMOVEFROM (0 5)");
}

TEST(UpdatingResult, SortChangesCarryTheirPositions) {
  // Descending UID order, as REVERSE ARRIVAL would give.
  UpdatingResult result({9, 7, 5, 3}, true);
  auto uid = [](Uid n) { return n; };
  auto before = [](Uid a, Uid b) { return a > b; };
  EXPECT_EQ(result.remove({5, 7}, uid), " REMOVEFROM (2 7,5)");
  EXPECT_EQ(result.order(), (std::vector<Uid>{9, 3}));
  // 10 first; then 8 and 4 side by side after 9: one set at one position.
  EXPECT_EQ(result.add({4, 8, 10}, before, uid), " ADDTO (1 10 3 8,4)");
  EXPECT_EQ(result.order(), (std::vector<Uid>{10, 9, 8, 4, 3}));
}

TEST(UpdatingResult, WhatAClientAppliesIsTheServersResultAfterEveryChange) {
  std::mt19937 random(5267);
  for (int round = 0; round < 200; ++round) {
    const bool sorted = round % 2 == 1;
    std::vector<int> key(301);
    for (auto& k : key) k = static_cast<int>(random() % 5);  // few keys: many ties, broken by UID
    auto before = [&key](Uid a, Uid b) { return key[a] != key[b] ? key[a] > key[b] : a < b; };
    std::vector<Uid> members;
    for (Uid uid = 1; uid <= 300; ++uid)
      if (random() % 3 == 0) members.push_back(uid);
    auto ordered = members;
    if (sorted) std::sort(ordered.begin(), ordered.end(), before);
    UpdatingResult result(ordered, sorted);
    auto client = ordered;
    auto identity = [](Uid n) { return n; };
    for (int step = 0; step < 20; ++step) {
      std::vector<Uid> gone, joined;
      for (Uid uid = 1; uid <= 300; ++uid) {
        const bool member = result.contains(uid);
        if (member && random() % 8 == 0) gone.push_back(uid);
        if (!member && random() % 16 == 0) joined.push_back(uid);
      }
      auto items = result.remove(gone, identity);
      items += result.add(joined, before, identity);
      apply_changes(client, items);
      ASSERT_EQ(client, result.order()) << "round " << round << " step " << step << ":" << items;
      auto expected = result.order();
      if (sorted)
        ASSERT_TRUE(std::is_sorted(expected.begin(), expected.end(), before));
      else
        ASSERT_TRUE(std::is_sorted(expected.begin(), expected.end()));
    }
  }
}

TEST(PartialData, AWindowOfTheResultOrNil) {
  std::vector<std::uint32_t> results{9, 4, 5, 6, 1};
  EXPECT_EQ(partial_data(results, 1, 3), " PARTIAL (1:3 9,4:5)");
  EXPECT_EQ(partial_data(results, 4, 100), " PARTIAL (4:100 6,1)");
  EXPECT_EQ(partial_data(results, 6, 10), " PARTIAL (6:10 NIL)");
  EXPECT_EQ(partial_data({}, 1, 1), " PARTIAL (1:1 NIL)");
}

}  // namespace
}  // namespace mailstead::imap
