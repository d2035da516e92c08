#include "imapd/proto/search_context.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>

#include "imapd/proto/sequence.hpp"

namespace mailstead::imap {

namespace {

// "pos set pos set", each set the numbers of its results in the requested order.
struct Groups {
  struct Group {
    std::size_t position;
    std::vector<std::uint32_t> numbers;
  };
  std::vector<Group> groups;

  std::string format(std::string_view item) const {
    if (groups.empty()) return {};
    std::string out = fmt::format(" {} (", item);
    for (std::size_t i = 0; i < groups.size(); ++i) {
      if (i) out += ' ';
      fmt::format_to(std::back_inserter(out), "{} {}", groups[i].position, format_set(groups[i].numbers));
    }
    out += ')';
    return out;
  }
};

}  // namespace

UpdatingResult::UpdatingResult(std::vector<Uid> results, bool sorted) : order_(std::move(results)), sorted_(sorted) {
  if (sorted_) {
    members_ = order_;
    std::sort(members_.begin(), members_.end());
  }
}

bool UpdatingResult::contains(Uid uid) const {
  const auto& ascending = sorted_ ? members_ : order_;
  return std::binary_search(ascending.begin(), ascending.end(), uid);
}

std::string UpdatingResult::remove(const std::vector<Uid>& gone, const Number& number) {
  std::vector<Uid> removed;
  const auto& ascending = sorted_ ? members_ : order_;
  std::set_intersection(ascending.begin(), ascending.end(), gone.begin(), gone.end(), std::back_inserter(removed));
  if (removed.empty()) return {};
  auto is_removed = [&removed](Uid uid) { return std::binary_search(removed.begin(), removed.end(), uid); };
  Groups out;
  if (!sorted_) {
    // §4.3.4: position 0, the client removes them wherever they are.
    std::vector<std::uint32_t> numbers;
    numbers.reserve(removed.size());
    for (auto uid : removed) numbers.push_back(number(uid));
    out.groups.push_back({0, std::move(numbers)});
    std::erase_if(order_, is_removed);
    return out.format("REMOVEFROM");
  }
  // §4.3.4: each set is removed starting at its position, after the sets before it were; a
  // run of neighbours is one set at one position.
  std::size_t taken = 0;
  for (std::size_t i = 0; i < order_.size(); ++i) {
    if (!is_removed(order_[i])) continue;
    const auto position = i + 1 - taken;
    if (out.groups.empty() || out.groups.back().position != position) out.groups.push_back({position, {}});
    out.groups.back().numbers.push_back(number(order_[i]));
    ++taken;
  }
  std::erase_if(order_, is_removed);
  std::erase_if(members_, is_removed);
  return out.format("REMOVEFROM");
}

std::string UpdatingResult::add(const std::vector<Uid>& joined, const Before& before, const Number& number) {
  if (joined.empty()) return {};
  Groups out;
  if (!sorted_) {
    // §4.3.3: position 0, in mailbox order.
    std::vector<std::uint32_t> numbers;
    numbers.reserve(joined.size());
    for (auto uid : joined) numbers.push_back(number(uid));
    out.groups.push_back({0, std::move(numbers)});
    std::vector<Uid> merged;
    merged.reserve(order_.size() + joined.size());
    std::merge(order_.begin(), order_.end(), joined.begin(), joined.end(), std::back_inserter(merged));
    order_ = std::move(merged);
    return out.format("ADDTO");
  }
  // Where each goes in the present order (a binary search: a few comparisons each), then
  // their order among themselves; the j-th of them in that order ends at its place plus j.
  struct Insert {
    std::size_t at;
    Uid uid;
  };
  std::vector<Insert> inserts;
  inserts.reserve(joined.size());
  for (auto uid : joined) {
    auto at = std::partition_point(order_.begin(), order_.end(), [&](Uid present) { return before(present, uid); });
    inserts.push_back({static_cast<std::size_t>(at - order_.begin()), uid});
  }
  std::stable_sort(inserts.begin(), inserts.end(),
                   [&](const Insert& a, const Insert& b) { return a.at != b.at ? a.at < b.at : before(a.uid, b.uid); });
  std::vector<Uid> merged;
  merged.reserve(order_.size() + inserts.size());
  std::size_t next = 0;
  for (std::size_t j = 0; j < inserts.size(); ++j) {
    merged.insert(merged.end(), order_.begin() + static_cast<std::ptrdiff_t>(next),
                  order_.begin() + static_cast<std::ptrdiff_t>(inserts[j].at));
    next = inserts[j].at;
    const auto position = merged.size() + 1;
    merged.push_back(inserts[j].uid);
    // §4.3.3: a set is inserted at its position, its first result there and the rest after it.
    auto& groups = out.groups;
    if (groups.empty() || groups.back().position + groups.back().numbers.size() != position)
      groups.push_back({position, {}});
    groups.back().numbers.push_back(number(inserts[j].uid));
  }
  merged.insert(merged.end(), order_.begin() + static_cast<std::ptrdiff_t>(next), order_.end());
  order_ = std::move(merged);
  members_.insert(members_.end(), joined.begin(), joined.end());
  std::inplace_merge(members_.begin(), members_.end() - static_cast<std::ptrdiff_t>(joined.size()), members_.end());
  return out.format("ADDTO");
}

std::string partial_data(const std::vector<std::uint32_t>& results, std::uint32_t first, std::uint32_t last) {
  // §4.4: a range past the end of the results answers what there is, or NIL.
  std::string set = "NIL";
  if (first >= 1 && first <= results.size()) {
    auto end = std::min<std::size_t>(last, results.size());
    set = format_set(
        std::vector<std::uint32_t>(results.begin() + first - 1, results.begin() + static_cast<std::ptrdiff_t>(end)));
  }
  return fmt::format(" PARTIAL ({}:{} {})", first, last, set);
}

}  // namespace mailstead::imap
