#include "imapd/proto/sequence.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace mailstead::imap {
namespace {

// seq-number = nz-number / "*"; 0 for "*".
std::optional<std::uint32_t> parse_number(std::string_view text) {
  if (text == "*") return 0;
  if (text.empty() || text.size() > 10 || text[0] == '0') return std::nullopt;
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value > 0xFFFFFFFFu) return std::nullopt;
  return static_cast<std::uint32_t>(value);
}

}  // namespace

std::optional<SequenceSet> parse_sequence_set(std::string_view text) {
  SequenceSet set;
  if (text == "$") {
    set.saved = true;
    return set;
  }
  if (text.empty()) return std::nullopt;
  for (;;) {
    auto comma = text.find(',');
    auto item = text.substr(0, comma);
    auto colon = item.find(':');
    auto first = parse_number(item.substr(0, colon));
    if (!first) return std::nullopt;
    auto last = colon == std::string_view::npos ? first : parse_number(item.substr(colon + 1));
    if (!last) return std::nullopt;
    set.ranges.push_back({*first, *last});
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return set;
}

std::vector<Interval> resolve(const SequenceSet& set, std::uint32_t largest) {
  std::vector<Interval> intervals;
  if (largest == 0) return intervals;
  for (const auto& range : set.ranges) {
    auto a = range.first == 0 ? largest : range.first;
    auto b = range.last == 0 ? largest : range.last;
    if (a > b) std::swap(a, b);
    if (a > largest) continue;
    intervals.push_back({a, std::min(b, largest)});
  }
  std::sort(intervals.begin(), intervals.end(), [](const Interval& x, const Interval& y) { return x.low < y.low; });
  std::vector<Interval> merged;
  for (const auto& i : intervals) {
    if (!merged.empty() && i.low <= merged.back().high + std::uint64_t{1})
      merged.back().high = std::max(merged.back().high, i.high);
    else
      merged.push_back(i);
  }
  return merged;
}

bool contains(const std::vector<Interval>& intervals, std::uint32_t n) {
  auto it = std::upper_bound(intervals.begin(), intervals.end(), n,
                             [](std::uint32_t v, const Interval& i) { return v < i.low; });
  return it != intervals.begin() && std::prev(it)->high >= n;
}

bool exceeds(const SequenceSet& set, std::uint32_t largest) {
  return std::any_of(set.ranges.begin(), set.ranges.end(), [largest](const SeqRange& r) {
    // "n:*" with n beyond the end means "*:n" (RFC 9051 §9, seq-range), which is valid.
    if (r.first == 0 || r.last == 0) return false;
    return r.first > largest || r.last > largest;
  });
}

std::string format_set(const std::vector<std::uint32_t>& ascending) {
  std::string out;
  for (std::size_t i = 0; i < ascending.size();) {
    std::size_t j = i;
    while (j + 1 < ascending.size() && ascending[j + 1] == ascending[j] + 1) ++j;
    if (!out.empty()) out += ',';
    if (j == i)
      fmt::format_to(std::back_inserter(out), "{}", ascending[i]);
    else
      fmt::format_to(std::back_inserter(out), "{}:{}", ascending[i], ascending[j]);
    i = j + 1;
  }
  return out;
}

std::vector<Interval> missing_within(const std::vector<std::uint32_t>& present, std::uint32_t largest,
                                     const std::vector<Interval>& within) {
  std::vector<Interval> gaps;
  std::uint64_t next = 1;
  for (auto n : present) {
    if (n > largest) break;
    if (n > next) gaps.push_back({static_cast<std::uint32_t>(next), n - 1});
    next = std::uint64_t{n} + 1;
  }
  if (next <= largest) gaps.push_back({static_cast<std::uint32_t>(next), largest});
  // Both lists are ascending and disjoint within themselves: walk them together.
  std::vector<Interval> out;
  std::size_t i = 0, j = 0;
  while (i < gaps.size() && j < within.size()) {
    auto low = std::max(gaps[i].low, within[j].low);
    auto high = std::min(gaps[i].high, within[j].high);
    if (low <= high) out.push_back({low, high});
    if (gaps[i].high < within[j].high)
      ++i;
    else
      ++j;
  }
  return out;
}

std::string format_intervals(const std::vector<Interval>& intervals) {
  std::string out;
  for (const auto& i : intervals) {
    if (!out.empty()) out += ',';
    if (i.low == i.high)
      fmt::format_to(std::back_inserter(out), "{}", i.low);
    else
      fmt::format_to(std::back_inserter(out), "{}:{}", i.low, i.high);
  }
  return out;
}

}  // namespace mailstead::imap
