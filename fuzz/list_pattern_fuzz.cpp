// libFuzzer target: IMAP LIST pattern matching (imapd/proto/list_match) answers every name and
// pattern within one pass over the name per pattern step, and agrees with the plain
// backtracking definition where that is cheap enough to run. Input: name NUL pattern. The
// name's lines are also taken as mailboxes and subscriptions for the selection LIST and LSUB
// answer with: each name answered matches the pattern, once, in order.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "imapd/proto/list_match.hpp"

namespace {

bool reference_match(std::string_view name, std::string_view pattern) {
  if (pattern.empty()) return name.empty();
  char c = pattern.front();
  if (c == '*' || c == '%') {
    for (std::size_t k = 0; k <= name.size(); ++k) {
      if (reference_match(name.substr(k), pattern.substr(1))) return true;
      if (k < name.size() && c == '%' && name[k] == '/') return false;
    }
    return false;
  }
  return !name.empty() && name.front() == c && reference_match(name.substr(1), pattern.substr(1));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto split = input.find('\0');
  auto name = input.substr(0, split);
  auto pattern = split == std::string_view::npos ? std::string_view{} : input.substr(split + 1);
  bool matched = mailstead::imap::matches_pattern(name, pattern, '/');
  // The INBOX prefix is matched case-insensitively by design; leave such patterns out.
  bool inbox = pattern.size() >= 5 && (pattern[0] | 0x20) == 'i';
  // Backtracking costs (name + 1)^wildcards: compared only on small inputs with few wildcards.
  auto wildcards = std::count_if(pattern.begin(), pattern.end(), [](char c) { return c == '*' || c == '%'; });
  bool small = name.size() <= 10 && pattern.size() <= 10 && wildcards <= 4;
  if (small && !inbox && matched != reference_match(name, pattern)) std::abort();

  // The selection on small inputs only: it matches every name and parent (a few hundred
  // pattern walks) four times over.
  if (name.size() > 64) return 0;
  std::vector<std::string> mailboxes, subscriptions;
  std::size_t at = 0;
  for (std::size_t i = 0; at <= name.size() && i < 8; ++i) {
    auto end = std::min(name.find('\n', at), name.size());
    (i % 2 ? subscriptions : mailboxes).emplace_back(name.substr(at, end - at));
    at = end + 1;
  }
  std::sort(mailboxes.begin(), mailboxes.end());
  std::sort(subscriptions.begin(), subscriptions.end());
  std::vector<std::string> patterns{std::string(pattern.substr(0, 16))};
  for (bool subscribed : {false, true})
    for (bool recursive : {false, true}) {
      mailstead::imap::ListSelection selection{.subscribed_only = subscribed, .recursive_match = recursive};
      auto listed = mailstead::imap::select_names(mailboxes, subscriptions, patterns, selection, '/');
      for (std::size_t k = 0; k < listed.size(); ++k) {
        if (!mailstead::imap::matches_pattern(listed[k].name, patterns[0], '/')) std::abort();
        if (k > 0 && listed[k].name == listed[k - 1].name) std::abort();
        if (!subscribed && !listed[k].mailbox) std::abort();
      }
    }
  return 0;
}
