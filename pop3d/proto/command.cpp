#include "pop3d/proto/command.hpp"

#include <array>
#include <charconv>
#include <vector>

#include "common/command_table.hpp"
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

// What an argument parser sees: the text after the name, and its words.
struct Arguments {
  std::string_view name;
  std::string_view rest;
  std::vector<std::string_view> words;
};

template <typename T>
Command no_arguments(const Arguments& a) {
  if (!a.words.empty()) return bad(std::string(a.name) + " takes no arguments");
  return T{};
}

template <typename T>
Command optional_number(const Arguments& a) {
  if (a.words.empty()) return T{};
  if (a.words.size() > 1) return bad(std::string(a.name) + " takes at most one message number");
  auto n = parse_message_number(a.words[0]);
  if (!n) return bad("Invalid message number");
  return T{*n};
}

template <typename T>
Command one_number(const Arguments& a) {
  if (a.words.size() != 1) return bad(std::string(a.name) + " needs one message number");
  auto n = parse_message_number(a.words[0]);
  if (!n) return bad("Invalid message number");
  return T{*n};
}

Command parse_user(const Arguments& a) {
  if (a.words.size() != 1) return bad("USER needs one name");
  return User{std::string(a.words[0])};
}

Command parse_pass(const Arguments& a) {
  if (a.rest.empty()) return bad("PASS needs a password");
  return Pass{std::string(a.rest)};  // the rest of the line: passwords may hold spaces
}

Command parse_auth(const Arguments& a) {
  if (a.words.empty()) return Auth{};
  if (a.words.size() > 2) return bad("AUTH takes a mechanism and at most an initial response");
  Auth auth{std::string(a.words[0]), std::nullopt};
  if (a.words.size() == 2) auth.initial = std::string(a.words[1]);
  return auth;
}

Command parse_top(const Arguments& a) {
  if (a.words.size() != 2) return bad("TOP needs a message number and a number of lines");
  auto n = parse_message_number(a.words[0]);
  if (!n) return bad("Invalid message number");
  std::uint64_t lines = 0;
  auto [end, ec] = std::from_chars(a.words[1].data(), a.words[1].data() + a.words[1].size(), lines);
  if (ec != std::errc{} || end != a.words[1].data() + a.words[1].size()) return bad("Invalid number of lines");
  return Top{*n, lines};
}

// --- the command table ------------------------------------------------------------------------

constexpr unsigned kAuthorization = 1U << static_cast<unsigned>(State::authorization);
constexpr unsigned kTransaction = 1U << static_cast<unsigned>(State::transaction);
constexpr unsigned kAnyState = kAuthorization | kTransaction;

struct Row {
  std::string_view name;
  std::size_t alternative;  // the index of the command's type in Command
  unsigned states;
  Command (*parse)(const Arguments&);
};

template <typename T>
constexpr Row row(std::string_view name, unsigned states, Command (*parse)(const Arguments&)) {
  return {name, command_table::index_of<T, Command>(), states, parse};
}

// RFC 1939 §4 (AUTHORIZATION: USER, PASS, QUIT), §5 (TRANSACTION), §6 (QUIT enters UPDATE);
// RFC 2449 §5 CAPA in both states; RFC 2595 §4 STLS and RFC 5034 §4 AUTH before login only.
constexpr std::array kCommands{
    row<User>("USER", kAuthorization, parse_user),          row<Pass>("PASS", kAuthorization, parse_pass),
    row<Auth>("AUTH", kAuthorization, parse_auth),          row<Stat>("STAT", kTransaction, no_arguments<Stat>),
    row<List>("LIST", kTransaction, optional_number<List>), row<Uidl>("UIDL", kTransaction, optional_number<Uidl>),
    row<Retr>("RETR", kTransaction, one_number<Retr>),      row<Top>("TOP", kTransaction, parse_top),
    row<Dele>("DELE", kTransaction, one_number<Dele>),      row<Noop>("NOOP", kTransaction, no_arguments<Noop>),
    row<Rset>("RSET", kTransaction, no_arguments<Rset>),    row<Quit>("QUIT", kAnyState, no_arguments<Quit>),
    row<Capa>("CAPA", kAnyState, no_arguments<Capa>),       row<Stls>("STLS", kAuthorization, no_arguments<Stls>),
};

// SyntaxError, the last alternative, is the parser's own.
static_assert(command_table::describes_every_command(kCommands, std::variant_size_v<Command> - 1));

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
  auto name = line.substr(0, space);
  if (name.empty() || name.size() > 4) return bad("Unknown command");
  for (const auto& r : kCommands) {
    if (!iequals_ascii(name, r.name)) continue;
    auto rest = space == std::string_view::npos ? std::string_view{} : line.substr(space + 1);
    return r.parse(Arguments{r.name, rest, split_arguments(rest)});
  }
  return bad("Unknown command");
}

bool allowed(State state, const Command& command) {
  const auto* row = command_table::row_of(kCommands, command.index());
  return !row || (row->states & (1U << static_cast<unsigned>(state))) != 0;  // no row: SyntaxError
}

std::string_view command_name(const Command& command) {
  const auto* row = command_table::row_of(kCommands, command.index());
  return row ? row->name : std::string_view{};
}

}  // namespace mailstead::pop3
