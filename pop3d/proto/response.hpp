#pragma once
// Building POP3 responses: status lines with RFC 2449 response codes, and multi-line bodies
// (RFC 1939 §3: every line that starts with "." gets one more, the body ends with ".").

#include <cstdint>
#include <string>
#include <string_view>

namespace mailstead::pop3 {

// RFC 2449 §8 / RFC 3206 extended response codes.
enum class Code { none, in_use, auth, sys_temp, sys_perm, login_delay };

std::string ok(std::string_view text);
std::string err(std::string_view text, Code code = Code::none);

// Appends the message, dot-stuffed and terminated by ".\r\n". A message that does not end in
// CRLF gets one, so the terminator is always on its own line.
void append_message(std::string& out, std::string_view message);
// TOP: the header, the blank line, and the first `lines` lines of the body, dot-stuffed and
// terminated. A message without a body gives its header and nothing more.
void append_top(std::string& out, std::string_view message, std::uint64_t lines);

}  // namespace mailstead::pop3
