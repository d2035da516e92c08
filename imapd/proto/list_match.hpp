#pragma once
// LIST patterns (RFC 9051 §6.3.9): "*" matches anything, "%" anything but the hierarchy
// separator; the reference is prefixed to the pattern. Pure.

#include <string>
#include <string_view>

namespace mailstead::imap {

// The pattern LIST matches names against: reference and pattern joined.
std::string list_pattern(std::string_view reference, std::string_view pattern, char separator);
// Whether `name` (UTF-8, canonical: "INBOX" upper-case) matches; an "INBOX" prefix of the
// pattern matches case-insensitively.
bool matches_pattern(std::string_view name, std::string_view pattern, char separator);

}  // namespace mailstead::imap
