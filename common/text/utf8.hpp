#pragma once
// UTF-8 (RFC 3629) one code point at a time: for case folding (IMAP SEARCH), modified UTF-7
// mailbox names, text made for readers (PREVIEW) and the checks of names and SASL fields.

#include <cstddef>
#include <string>
#include <string_view>

namespace mailstead::text {

struct CodePoint {
  char32_t code = 0;
  std::size_t length = 0;  // 0: not a well-formed sequence
};

// The sequence at the start of `text` (which must not be empty). RFC 3629 §4: no overlong
// forms, no surrogates, nothing above U+10FFFF, nothing truncated.
CodePoint decode_utf8(std::string_view text);
void append_utf8(std::string& out, char32_t code);
bool valid_utf8(std::string_view text);

}  // namespace mailstead::text
