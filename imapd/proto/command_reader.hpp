#pragma once
// Where a command line announces a literal (RFC 9051 §4.3, RFC 7888 LITERAL+): the session
// reads lines, and when one ends in "{n}", "{n+}", "{n-}" or "~{n}" it reads n more bytes
// (after a "+" continuation for the synchronising form) and then the rest of the command.

#include <cstdint>
#include <optional>
#include <string_view>

namespace mailstead::imap {

struct LiteralAnnouncement {
  std::uint64_t size = 0;
  bool synchronizing = true;  // "{n}": the client waits for "+ " before sending
};

// `line` without its CRLF. nullopt when the line does not end in a literal announcement.
std::optional<LiteralAnnouncement> trailing_literal(std::string_view line);

// Whether the command whose first line this is carries messages in its literals (APPEND,
// REPLACE, UID REPLACE): those may be as big as a message, any other command's only as big as
// its text and one annotation value.
bool carries_messages(std::string_view first_line);

}  // namespace mailstead::imap
