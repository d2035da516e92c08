#pragma once
// Modified UTF-7 (RFC 3501 §5.1.3), the form IMAP4rev1 and Maildir++ folder names use for
// characters outside printable ASCII: "&" + base64 (with "," for "/") of UTF-16BE + "-".
// Pure functions.

#include <optional>
#include <string>
#include <string_view>

namespace mailstead::text {

// UTF-8 to modified UTF-7. The input must be valid UTF-8.
std::string encode_mutf7(std::string_view utf8);
// Modified UTF-7 to UTF-8; nullopt for malformed input (bad base64, unpaired surrogates,
// shifted ASCII that should have been literal, a missing "-").
std::optional<std::string> decode_mutf7(std::string_view mutf7);

}  // namespace mailstead::text
