#include "pop3d/proto/response.hpp"

#include "common/text/dot_stuffing.hpp"

namespace mailstead::pop3 {
namespace {

std::string_view code_text(Code code) {
  switch (code) {
    case Code::none:
      return "";
    case Code::in_use:
      return "[IN-USE] ";
    case Code::auth:
      return "[AUTH] ";
    case Code::sys_temp:
      return "[SYS/TEMP] ";
    case Code::sys_perm:
      return "[SYS/PERM] ";
    case Code::login_delay:
      return "[LOGIN-DELAY] ";
  }
  return "";
}

}  // namespace

std::string ok(std::string_view text) {
  std::string out = "+OK";
  if (!text.empty()) (out += ' ') += text;
  return out += "\r\n";
}

std::string err(std::string_view text, Code code) {
  std::string out = "-ERR ";
  out += code_text(code);
  out += text;
  return out += "\r\n";
}

void append_message(std::string& out, std::string_view message) {
  text::append_dot_stuffed_message(out, message);
}

void append_top(std::string& out, std::string_view message, std::uint64_t lines) {
  // The header ends at the first empty line; a message without one is all header.
  std::size_t body = message.size();
  if (message.starts_with("\r\n")) {
    body = 2;
  } else if (auto blank = message.find("\r\n\r\n"); blank != std::string_view::npos) {
    body = blank + 4;
  }
  auto end = body;
  for (std::uint64_t n = 0; n < lines && end < message.size(); ++n) {
    auto lf = message.find('\n', end);
    end = lf == std::string_view::npos ? message.size() : lf + 1;
  }
  text::append_dot_stuffed(out, message.substr(0, end));
  if (body == message.size() && !message.ends_with("\r\n\r\n") && !message.starts_with("\r\n"))
    out += "\r\n";  // the blank line that separates header and (absent) body
  out += ".\r\n";
}

}  // namespace mailstead::pop3
