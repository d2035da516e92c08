#pragma once
// ASCII case, as protocol keywords and header names compare (RFC 5321 §2.4, RFC 5322 §1.2.2,
// RFC 1939 §3): only A-Z and a-z fold; every other byte, UTF-8 included, stays itself. And the
// folding whitespace that header values and tag lists trim.

#include <algorithm>
#include <string>
#include <string_view>

namespace mailstead::text {

constexpr char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}
constexpr char ascii_upper(char c) {
  return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
}

constexpr bool iequals_ascii(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](char x, char y) { return ascii_lower(x) == ascii_lower(y); });
}

inline bool is_ascii(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

inline std::string lower_ascii(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = ascii_lower(c);
  return out;
}

inline std::string upper_ascii(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = ascii_upper(c);
  return out;
}

// Folding whitespace as header field values and tag lists hold it (RFC 5322 §3.2.2's FWS:
// space, tab, and the CRLF of a fold).
constexpr bool is_fws(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}
constexpr std::string_view trim_fws(std::string_view s) {
  while (!s.empty() && is_fws(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_fws(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace mailstead::text
