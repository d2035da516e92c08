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
    if (enhanced.empty())
      out += fmt::format("{}{}{}\r\n", code, sep, text);
    else
      out += fmt::format("{}{}{} {}\r\n", code, sep, enhanced, text);
  }
  return out;
}

std::string Reply::one_line() const {
  std::string out = fmt::format("{}", code);
  if (!enhanced.empty()) out += " " + enhanced;
  for (const auto& l : lines) out += " " + l;
  return out;
}

Reply reply(int code, std::string_view enhanced, std::string_view text) {
  return Reply{code, std::string(enhanced), {std::string(text)}};
}

Reply reply(Status status, std::string_view text) {
  return reply(status.code, status.enhanced, text);
}

namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// "2.1.0" style: class digit, dot, 1-3 digits, dot, 1-3 digits.
std::size_t enhanced_length(std::string_view text) {
  if (text.size() < 5 || (text[0] != '2' && text[0] != '4' && text[0] != '5') || text[1] != '.') return 0;
  std::size_t i = 2;
  auto digits = [&] {
    auto start = i;
    while (i < text.size() && is_digit(text[i]) && i - start < 3) ++i;
    return i > start;
  };
  if (!digits() || i >= text.size() || text[i] != '.') return 0;
  ++i;
  if (!digits()) return 0;
  if (i < text.size() && text[i] != ' ') return 0;
  return i;
}

}  // namespace

ReplyAssembler::Status ReplyAssembler::add(std::string_view line) {
  if (line.size() < 3 || !is_digit(line[0]) || !is_digit(line[1]) || !is_digit(line[2]) || line[0] < '2' ||
      line[0] > '5')
    return Status::malformed;
  if (line.size() > 3 && line[3] != ' ' && line[3] != '-') return Status::malformed;
  int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
  if (started_ && code != reply_.code) return Status::malformed;
  started_ = true;
  reply_.code = code;
  reply_.lines.emplace_back(line.size() > 4 ? line.substr(4) : std::string_view{});
  return line.size() > 3 && line[3] == '-' ? Status::more : Status::done;
}

Reply ReplyAssembler::take() {
  Reply out = std::move(reply_);
  reply_ = Reply{};
  started_ = false;
  if (!out.lines.empty()) {
    auto& last = out.lines.back();
    if (auto n = enhanced_length(last)) {
      out.enhanced = last.substr(0, n);
      last.erase(0, std::min(last.size(), n + 1));
    }
  }
  return out;
}

}  // namespace mailstead::smtp
