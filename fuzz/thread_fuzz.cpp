// libFuzzer target: SORT and THREAD (imapd/proto/sort) over messages whose headers a stranger
// wrote. Input: one message per line, "subject TAB date TAB message-id TAB references". Every
// message is in the THREAD answer exactly once, no thread is deeper than the cut, and SORT
// gives a permutation, whatever the headers say (loops, duplicates, junk).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "imapd/proto/sort.hpp"

namespace {

using mailstead::imap::SortMessage;
using mailstead::imap::ThreadNode;

std::string_view field(std::string_view& line) {
  auto tab = line.find('\t');
  auto out = line.substr(0, tab);
  line = tab == std::string_view::npos ? std::string_view{} : line.substr(tab + 1);
  return out;
}

void count(const ThreadNode& n, std::vector<int>& seen, std::size_t depth) {
  if (depth > 201) std::abort();
  if (n.message) ++seen.at(*n.message);
  for (const auto& c : n.children) count(c, seen, depth + 1);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<SortMessage> messages;
  for (std::size_t pos = 0; pos < input.size() && messages.size() < 256;) {
    auto end = std::min(input.find('\n', pos), input.size());
    auto line = input.substr(pos, end - pos);
    pos = end + 1;
    SortMessage m;
    m.seq = m.uid = static_cast<std::uint32_t>(messages.size() + 1);
    m.subject = std::string(field(line));
    m.date = std::string(field(line));
    m.message_id = std::string(field(line));
    m.references = std::string(field(line));
    messages.push_back(std::move(m));
  }
  for (auto algorithm :
       {mailstead::imap::ThreadAlgorithm::references, mailstead::imap::ThreadAlgorithm::ordered_subject}) {
    auto threads = mailstead::imap::thread_messages(messages, algorithm);
    std::vector<int> seen(messages.size(), 0);
    for (const auto& t : threads) count(t, seen, 1);
    if (std::any_of(seen.begin(), seen.end(), [](int n) { return n != 1; })) std::abort();
    (void)mailstead::imap::format_threads(threads, messages, false);
  }
  using Key = mailstead::imap::SortCriterion::Key;
  auto order =
      mailstead::imap::sort_order(messages, {{Key::subject, false}, {Key::date, true}, {Key::display_from, false}});
  std::sort(order.begin(), order.end());
  for (std::size_t i = 0; i < order.size(); ++i)
    if (order[i] != i) std::abort();
  return 0;
}
