#include "smtpd/proto/reply.hpp"

#include <fmt/format.h>

namespace mailstead::smtp {

std::string Reply::serialize() const {
  std::string out;
  auto lines_or_empty = lines.empty() ? std::vector<std::string>{""} : lines;
  for (std::size_t i = 0; i < lines_or_empty.size(); ++i) {
    char sep = i + 1 < lines_or_empty.size() ? '-' : ' ';
    std::string text;
    for (char c : lines_or_empty[i]) text += (c == '\r' || c == '\n') ? ' ' : c;  // a reply line never breaks
    if (enhanced.empty()) out += fmt::format("{}{}{}\r\n", code, sep, text);
    else out += fmt::format("{}{}{} {}\r\n", code, sep, enhanced, text);
  }
  return out;
}

Reply reply(int code, std::string_view enhanced, std::string_view text) {
  return Reply{code, std::string(enhanced), {std::string(text)}};
}

}  // namespace mailstead::smtp
