#include "imapd/proto/list_match.hpp"

#include <algorithm>
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

}  // namespace mailstead::imap
