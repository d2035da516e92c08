#include "imapd/proto/command_reader.hpp"

#include "common/text/ascii.hpp"

namespace mailstead::imap {

std::optional<LiteralAnnouncement> trailing_literal(std::string_view line) {
  if (line.empty() || line.back() != '}') return std::nullopt;
  line.remove_suffix(1);
  LiteralAnnouncement announced;
  if (!line.empty() && (line.back() == '+' || line.back() == '-')) {
    announced.synchronizing = false;
    line.remove_suffix(1);
  }
  std::size_t digits = 0;
  while (digits < line.size() && line[line.size() - 1 - digits] >= '0' && line[line.size() - 1 - digits] <= '9')
    ++digits;
  if (digits == 0 || digits > 19 || digits == line.size() || line[line.size() - 1 - digits] != '{') return std::nullopt;
  std::uint64_t size = 0;
  for (char c : line.substr(line.size() - digits)) {
    auto next = size * 10 + static_cast<std::uint64_t>(c - '0');
    if (next / 10 != size) return std::nullopt;  // overflow: not a literal anyone can send
    size = next;
  }
  announced.size = size;
  return announced;
}

bool carries_messages(std::string_view first_line) {
  auto next_word = [&first_line]() {
    auto space = first_line.find(' ');
    auto word = first_line.substr(0, space);
    first_line.remove_prefix(space == std::string_view::npos ? first_line.size() : space + 1);
    return word;
  };
  next_word();  // the tag
  auto name = next_word();
  if (text::iequals_ascii(name, "UID")) name = next_word();
  return text::iequals_ascii(name, "APPEND") || text::iequals_ascii(name, "REPLACE");
}

}  // namespace mailstead::imap
