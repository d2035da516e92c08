#include "imapd/proto/list_match.hpp"

#include <algorithm>
#include <map>
#include <vector>

#include "common/text/ascii.hpp"

namespace mailstead::imap {

std::string list_pattern(std::string_view reference, std::string_view pattern, char separator) {
  if (reference.empty() || (!pattern.empty() && pattern.front() == separator)) return std::string(pattern);
  std::string joined(reference);
  if (joined.back() != separator && !pattern.empty()) joined += separator;
  joined += pattern;
  return joined;
}

// Runs of wildcards are one wildcard: "*" if the run holds one, else "%". A pattern of 200,000
// "*" is then one step, not 200,000 (every step below costs one pass over the name).
std::string collapse_wildcards(std::string_view pattern) {
  std::string out;
  out.reserve(pattern.size());
  for (char c : pattern) {
    bool wild = c == '*' || c == '%';
    if (wild && !out.empty() && (out.back() == '*' || out.back() == '%')) {
      if (c == '*') out.back() = '*';
      continue;
    }
    out += c;
  }
  return out;
}

bool matches_pattern(std::string_view name, std::string_view pattern, char separator) {
  std::string canonical = collapse_wildcards(pattern);
  if (text::iequals_ascii(std::string_view(canonical).substr(0, 5), "INBOX") &&
      (canonical.size() == 5 || canonical[5] == separator))
    canonical.replace(0, 5, "INBOX");
  // Every other pattern character must meet one of the name: a pattern with more of them than
  // the name has bytes cannot match, whatever its length. After this and the collapse, the
  // pattern is at most twice the name's length plus one, so the walk below costs at most
  // O(name^2) whatever a client sends.
  auto literals = static_cast<std::size_t>(
      std::count_if(canonical.begin(), canonical.end(), [](char c) { return c != '*' && c != '%'; }));
  if (literals > name.size()) return false;
  // reachable[i]: the pattern so far can match the first i bytes of the name. Each step is one
  // pass over the name.
  std::vector<char> reachable(name.size() + 1, 0);
  std::vector<char> next(name.size() + 1, 0);
  reachable[0] = 1;
  for (char c : canonical) {
    if (c == '*') {
      // Matches any run: every position from the first reachable one on.
      bool open = false;
      for (std::size_t k = 0; k <= name.size(); ++k) next[k] = open = open || reachable[k];
    } else if (c == '%') {
      // Any run without the separator: carried forward until a separator is crossed.
      bool open = false;
      for (std::size_t k = 0; k <= name.size(); ++k) {
        open = open || reachable[k];
        next[k] = open;
        if (k < name.size() && name[k] == separator) open = false;
      }
    } else {
      next[0] = 0;
      for (std::size_t k = 0; k < name.size(); ++k) next[k + 1] = reachable[k] && name[k] == c;
    }
    reachable.swap(next);
  }
  return reachable[name.size()] != 0;
}

namespace {

bool any_pattern(std::string_view name, std::span<const std::string> patterns, char separator) {
  return std::any_of(patterns.begin(), patterns.end(),
                     [&](const std::string& p) { return matches_pattern(name, p, separator); });
}

struct InboxFirst {
  bool operator()(const std::string& a, const std::string& b) const {
    bool a_inbox = a == "INBOX", b_inbox = b == "INBOX";
    return a_inbox != b_inbox ? a_inbox : a < b;
  }
};

}  // namespace

std::vector<ListedName> select_names(std::span<const std::string> mailboxes, std::span<const std::string> subscriptions,
                                     std::span<const std::string> patterns, const ListSelection& selection,
                                     char separator) {
  std::map<std::string, ListedName, InboxFirst> names;
  auto entry = [&](const std::string& name) -> ListedName& {
    auto [at, added] = names.try_emplace(name);
    if (added) at->second.name = name;
    return at->second;
  };
  for (std::size_t i = 0; i < mailboxes.size(); ++i) entry(mailboxes[i]).mailbox = i;
  for (const auto& name : subscriptions) entry(name).subscribed = true;
  // A mailbox's parents exist (the store creates them); a subscription's may not, and LSUB or
  // RECURSIVEMATCH may have to name one.
  for (const auto& name : subscriptions) {
    bool below_pattern = !any_pattern(name, patterns, separator);
    for (auto at = name.find(separator); at != std::string::npos; at = name.find(separator, at + 1)) {
      auto& parent = entry(name.substr(0, at));
      if (below_pattern) parent.subscribed_below = true;
    }
  }
  for (const auto& name : mailboxes)
    for (auto at = name.find(separator); at != std::string::npos; at = name.find(separator, at + 1))
      entry(name.substr(0, at)).has_children = true;

  std::vector<ListedName> out;
  for (auto& [name, listed] : names) {
    if (!any_pattern(name, patterns, separator)) continue;
    if (!selection.subscribed_only) {
      if (listed.mailbox) out.push_back(std::move(listed));
      continue;
    }
    bool parent_of_subscribed = listed.subscribed_below && (selection.lsub || selection.recursive_match);
    if (listed.subscribed || parent_of_subscribed) out.push_back(std::move(listed));
  }
  return out;
}

}  // namespace mailstead::imap
