#include "pop3d/proto/command.hpp"

#include <charconv>
#include <vector>

#include "common/text/ascii.hpp"

namespace mailstead::pop3 {
namespace {

using text::iequals_ascii;

// Arguments are separated by single spaces (RFC 1939 §3); clients that send several, or a
// trailing space, are common enough that runs of spaces count as one.
std::vector<std::string_view> split_arguments(std::string_view rest) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < rest.size()) {
    while (i < rest.size() && rest[i] == ' ') ++i;
    auto start = i;
    while (i < rest.size() && rest[i] != ' ') ++i;
    if (i > start) out.push_back(rest.substr(start, i - start));
  }
  return out;
}

SyntaxError bad(std::string text) {
  return SyntaxError{std::move(text)};
}

template <typename T>
Command optional_number(const std::vector<std::string_view>& args, std::string_view keyword) {
  if (args.empty()) return T{};
  if (args.size() > 1) return bad(std::string(keyword) + " takes at most one message number");
  auto n = parse_message_number(args[0]);
  if (!n) return bad("Invalid message number");
  return T{*n};
}

template <typename T>
Command one_number(const std::vector<std::string_view>& args, std::string_view keyword) {
  if (args.size() != 1) return bad(std::string(keyword) + " needs one message number");
  auto n = parse_message_number(args[0]);
  if (!n) return bad("Invalid message number");
  return T{*n};
}

Command no_arguments(const std::vector<std::string_view>& args, std::string_view keyword, Command command) {
  if (!args.empty()) return bad(std::string(keyword) + " takes no arguments");
  return command;
}

}  // namespace

std::optional<std::uint32_t> parse_message_number(std::string_view text) {
  if (text.empty() || text.size() > 10) return std::nullopt;
  std::uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (value == 0 || value > 0xffffffffULL) return std::nullopt;
  return static_cast<std::uint32_t>(value);
}

Command parse_command(std::string_view line) {
  auto space = line.find(' ');
  auto keyword = line.substr(0, space);
  auto rest = space == std::string_view::npos ? std::string_view{} : line.substr(space + 1);
  if (keyword.empty() || keyword.size() > 4) return bad("Unknown command");
  auto args = split_arguments(rest);

  if (iequals_ascii(keyword, "USER")) {
    if (args.size() != 1) return bad("USER needs one name");
    return User{std::string(args[0])};
  }
  if (iequals_ascii(keyword, "PASS")) {
    if (rest.empty()) return bad("PASS needs a password");
    return Pass{std::string(rest)};
  }
  if (iequals_ascii(keyword, "AUTH")) {
    if (args.empty()) return Auth{};
    if (args.size() > 2) return bad("AUTH takes a mechanism and at most an initial response");
    Auth auth{std::string(args[0]), std::nullopt};
    if (args.size() == 2) auth.initial = std::string(args[1]);
    return auth;
  }
  if (iequals_ascii(keyword, "STAT")) return no_arguments(args, "STAT", Stat{});
  if (iequals_ascii(keyword, "LIST")) return optional_number<List>(args, "LIST");
  if (iequals_ascii(keyword, "UIDL")) return optional_number<Uidl>(args, "UIDL");
  if (iequals_ascii(keyword, "RETR")) return one_number<Retr>(args, "RETR");
  if (iequals_ascii(keyword, "DELE")) return one_number<Dele>(args, "DELE");
  if (iequals_ascii(keyword, "TOP")) {
    if (args.size() != 2) return bad("TOP needs a message number and a number of lines");
    auto n = parse_message_number(args[0]);
    if (!n) return bad("Invalid message number");
    std::uint64_t lines = 0;
    auto [end, ec] = std::from_chars(args[1].data(), args[1].data() + args[1].size(), lines);
    if (ec != std::errc{} || end != args[1].data() + args[1].size()) return bad("Invalid number of lines");
    return Top{*n, lines};
  }
  if (iequals_ascii(keyword, "NOOP")) return no_arguments(args, "NOOP", Noop{});
  if (iequals_ascii(keyword, "RSET")) return no_arguments(args, "RSET", Rset{});
  if (iequals_ascii(keyword, "QUIT")) return no_arguments(args, "QUIT", Quit{});
  if (iequals_ascii(keyword, "CAPA")) return no_arguments(args, "CAPA", Capa{});
  if (iequals_ascii(keyword, "STLS")) return no_arguments(args, "STLS", Stls{});
  return bad("Unknown command");
}

}  // namespace mailstead::pop3
