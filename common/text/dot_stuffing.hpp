#pragma once
// The dot-stuffed form that SMTP DATA (RFC 5321 §4.5.2) and POP3 multi-line responses
// (RFC 1939 §3) share: every line that starts with "." gets one more, and ".\r\n" ends it.
// Pure functions.

#include <string>
#include <string_view>

namespace mailstead::text {

// Appends `text` (lines ending in CRLF, except perhaps the last) dot-stuffed; a last line
// without CRLF gets one, so that a terminator can follow on a line of its own.
void append_dot_stuffed(std::string& out, std::string_view text);

// append_dot_stuffed() and the terminating ".\r\n".
void append_dot_stuffed_message(std::string& out, std::string_view message);

}  // namespace mailstead::text
