#pragma once
// Strict base64 (RFC 4648 §4) as SASL needs it (RFC 4954 §4, RFC 5034 §4, RFC 9051 §6.2.2):
// padding required, no whitespace, no characters outside the alphabet.

#include <optional>
#include <string>
#include <string_view>

namespace mailstead::sasl {

std::string base64_encode(std::string_view bytes);
std::optional<std::string> base64_decode(std::string_view text);  // nullopt: malformed

}  // namespace mailstead::sasl
