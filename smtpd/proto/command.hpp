#pragma once
// SMTP commands (RFC 5321 §4.1 and the extensions smtpd offers) as typed values, parsed from
// one command line by a pure function: no socket, no session state. One table in
// command.cpp gives each command name its parser, the phases of a session that accept it and
// its flags (command_info), checked against the Command variant by the build
// (common/command_table.hpp); the session's handlers visit the variant.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "smtpd/proto/reply.hpp"

namespace mailstead::smtp {

// A mailbox from a path, split once: the relay rules and the account lookup both read it.
struct Mailbox {
  std::string local;   // as written; a quoted local part keeps its quotes
  std::string domain;  // as written: a name (perhaps U-labels) or an address literal "[...]"
  bool utf8 = false;   // holds non-ASCII (needs SMTPUTF8)
  std::string to_string() const { return local + "@" + domain; }
  friend bool operator==(const Mailbox&, const Mailbox&) = default;
};

enum class Body { unspecified, seven_bit, eight_bit_mime, binary_mime };
enum class Ret { unspecified, full, headers };

struct Ehlo {
  std::string domain;    // or address literal
  bool extended = true;  // false for HELO
};
struct Mail {
  std::optional<Mailbox> sender;      // nullopt: the null reverse-path <>
  std::optional<std::uint64_t> size;  // RFC 1870
  Body body = Body::unspecified;      // RFC 6152 / RFC 3030
  bool smtputf8 = false;              // RFC 6531
  Ret ret = Ret::unspecified;         // RFC 3461
  std::string envid;                  // RFC 3461, xtext-decoded
};
// RFC 3461 NOTIFY values (the same bits as storage::Notify).
enum Notify : std::uint8_t { kNotifyNever = 1, kNotifySuccess = 2, kNotifyFailure = 4, kNotifyDelay = 8 };

struct Rcpt {
  Mailbox recipient;
  std::uint8_t notify = 0;  // Notify bits; 0: not given
  std::string orcpt;        // RFC 3461 ORCPT "type;address", xtext-decoded
};
struct Data {};
struct Bdat {
  std::uint64_t size = 0;
  bool last = false;
};
struct Rset {};
struct Noop {};
struct Quit {};
struct Vrfy {
  std::string argument;
};
struct Help {};
struct StartTls {};
struct Auth {
  std::string mechanism;
  std::optional<std::string> initial_response;  // "=" is an empty one
};

// Why a line is not a valid command; the session answers code + enhanced + text.
struct SyntaxError {
  int code = 501;        // 500: unknown command or bad line; 501: bad arguments; 555: bad parameter
  std::string enhanced;  // RFC 3463, e.g. "5.5.4"
  std::string text;
};

using Command = std::variant<Ehlo, Mail, Rcpt, Data, Bdat, Rset, Noop, Quit, Vrfy, Help, StartTls, Auth, SyntaxError>;

Command parse_command(std::string_view line);

// The phases of an SMTP session (RFC 5321 §4.1.4): before HELO/EHLO, greeted, and inside a
// mail transaction (after MAIL, until the message or RSET ends it).
enum class Phase { connected, greeted, in_transaction };

// What the command table says of a command.
struct CommandInfo {
  std::string_view name;
  unsigned phases = 0;         // bits 1 << Phase that accept it
  bool junk = false;           // moves no mail: counted against smtpd.max_junk_commands
  std::string_view too_early;  // the 503 text when it comes before its phases
  std::string_view too_late;   // and after them
  bool accepts(Phase p) const { return (phases & (1U << static_cast<unsigned>(p))) != 0; }
};
// nullptr for a SyntaxError.
const CommandInfo* command_info(const Command& command);

// Parsing pieces, for tests and for other users (the SMTP client reads paths too).
std::optional<Mailbox> parse_mailbox(std::string_view text);  // local@domain, no brackets
// RFC 3461 §4; nullopt unless it decodes to printable US-ASCII (controls and 8-bit refused).
std::optional<std::string> decode_xtext(std::string_view text);
bool valid_domain_or_literal(std::string_view text);

}  // namespace mailstead::smtp
