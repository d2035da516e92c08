#include "imapd/proto/list_match.hpp"

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

bool matches_pattern(std::string_view name, std::string_view pattern, char separator) {
  std::string canonical(pattern);
  if (text::iequals_ascii(pattern.substr(0, 5), "INBOX") && (pattern.size() == 5 || pattern[5] == separator))
    canonical.replace(0, 5, "INBOX");
  // reachable[i]: the pattern so far can match the first i bytes of the name. O(name x pattern).
  std::vector<bool> reachable(name.size() + 1, false);
  reachable[0] = true;
  for (char c : canonical) {
    std::vector<bool> next(name.size() + 1, false);
    for (std::size_t i = 0; i <= name.size(); ++i) {
      if (!reachable[i]) continue;
      if (c == '*' || c == '%') {
        for (std::size_t k = i; k <= name.size(); ++k) {
          next[k] = true;
          if (k < name.size() && c == '%' && name[k] == separator) break;
        }
      } else if (i < name.size() && name[i] == c) {
        next[i + 1] = true;
      }
    }
    reachable = std::move(next);
  }
  return reachable[name.size()];
}

}  // namespace mailstead::imap
