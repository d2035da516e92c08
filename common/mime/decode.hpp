#pragma once
// Turning MIME-encoded text back into what a reader sees: content transfer encodings
// (RFC 2045 §6: base64, quoted-printable), RFC 2047 encoded words in header values, and
// charsets to UTF-8 (through glibc's iconv). For IMAP SEARCH and BINARY[]. Pure functions;
// lenient where mail in the wild is broken, never reading outside their input.

#include <optional>
#include <string>
#include <string_view>

namespace mailstead::mime {

// nullopt for an encoding this does not know (IMAP answers [UNKNOWN-CTE]). "7bit", "8bit",
// "binary" and "" return the body unchanged.
std::optional<std::string> decode_transfer_encoding(std::string_view encoding, std::string_view body);
// Whether decode_transfer_encoding returns the body unchanged: a caller may then read it in
// place instead of taking a copy.
bool is_identity_encoding(std::string_view encoding);

std::string decode_base64(std::string_view text);            // skips what is not base64
std::string decode_quoted_printable(std::string_view text);  // keeps malformed "=" as written

// Whether to_utf8 can convert from `charset` (a name iconv knows, or UTF-8 itself).
bool known_charset(std::string_view charset);
// `bytes` in `charset` as UTF-8. Unknown charsets and undecodable bytes are passed through.
std::string to_utf8(std::string_view charset, std::string_view bytes);
// Whether to_utf8 returns the bytes unchanged (UTF-8, US-ASCII, or no charset named).
bool is_utf8_charset(std::string_view charset);

// "=?UTF-8?Q?caf=C3=A9?= au lait" -> "café au lait" (RFC 2047 §6.2: white space between
// adjacent encoded words is dropped).
std::string decode_header_value(std::string_view value);

}  // namespace mailstead::mime
