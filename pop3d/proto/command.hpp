#pragma once
// POP3 commands (RFC 1939, RFC 2449 CAPA, RFC 2595 STLS, RFC 5034 AUTH) as typed values,
// parsed from one command line by a pure function, and the states that accept each. Both come
// from one table in command.cpp: a row per command (name, states, argument parser), which the
// build checks against the Command variant (common/command_table.hpp); the session's
// handlers visit the variant, so a command without a handler does not compile.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace mailstead::pop3 {

struct User {
  std::string name;
};
struct Pass {
  std::string password;  // the rest of the line: passwords may hold spaces
};
struct Auth {
  std::string mechanism;               // empty: "AUTH" alone, the RFC 1734 mechanism listing
  std::optional<std::string> initial;  // RFC 5034 initial response; "=" is an empty one
};
struct Stat {};
struct List {
  std::optional<std::uint32_t> message;
};
struct Uidl {
  std::optional<std::uint32_t> message;
};
struct Retr {
  std::uint32_t message = 0;
};
struct Top {
  std::uint32_t message = 0;
  std::uint64_t lines = 0;
};
struct Dele {
  std::uint32_t message = 0;
};
struct Noop {};
struct Rset {};
struct Quit {};
struct Capa {};
struct Stls {};

// The line is not a command we know, or its arguments are wrong; the text says which.
struct SyntaxError {
  std::string text;
};

using Command =
    std::variant<User, Pass, Auth, Stat, List, Uidl, Retr, Top, Dele, Noop, Rset, Quit, Capa, Stls, SyntaxError>;

Command parse_command(std::string_view line);

// The states of a POP3 session that read commands (RFC 1939 §3). UPDATE is entered by QUIT
// and reads none.
enum class State { authorization, transaction };

// Whether `state` accepts the command (a SyntaxError is answered as such in any state).
bool allowed(State state, const Command& command);

// The command's name as the table has it ("RETR"); "" for a SyntaxError.
std::string_view command_name(const Command& command);

// A message number as RFC 1939 writes it: decimal digits only, 1 to 2^32-1.
std::optional<std::uint32_t> parse_message_number(std::string_view text);

}  // namespace mailstead::pop3
