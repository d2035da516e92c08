#include "common/text/dot_stuffing.hpp"

#include <cstring>

namespace mailstead::text {

void append_dot_stuffed(std::string& out, std::string_view text) {
  out.reserve(out.size() + text.size() + text.size() / 512 + 5);
  std::size_t line_start = 0;
  while (line_start < text.size()) {
    if (text[line_start] == '.') out += '.';
    const void* lf = std::memchr(text.data() + line_start, '\n', text.size() - line_start);
    auto line_end = lf ? static_cast<std::size_t>(static_cast<const char*>(lf) - text.data()) + 1 : text.size();
    out.append(text.data() + line_start, line_end - line_start);
    line_start = line_end;
  }
  if (!text.empty() && !text.ends_with("\r\n")) out += "\r\n";
}

void append_dot_stuffed_message(std::string& out, std::string_view message) {
  append_dot_stuffed(out, message);
  out += ".\r\n";
}

}  // namespace mailstead::text
