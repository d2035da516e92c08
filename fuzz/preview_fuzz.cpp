// libFuzzer target: a message's preview (RFC 8970) is valid UTF-8 of at most the characters
// asked for, without control characters, leading, trailing or doubled spaces, whatever the
// bytes; HTML reduced to text never passes its output bound nor ends in half a character.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/mime/mime.hpp"
#include "common/mime/preview.hpp"
#include "common/text/utf8.hpp"

namespace {

void check_preview(std::string_view text, std::size_t max_chars) {
  if (!mailstead::text::valid_utf8(text)) std::abort();
  if (!text.empty() && (text.front() == ' ' || text.back() == ' ')) std::abort();
  if (text.find("  ") != std::string_view::npos) std::abort();
  std::size_t chars = 0;
  for (std::size_t i = 0; i < text.size(); ++chars) {
    auto [code, length] = mailstead::text::decode_utf8(text.substr(i));
    if (code < 0x20 || code == 0x7f) std::abort();
    i += length;
  }
  if (chars > max_chars) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto structure = mailstead::mime::parse_message(bytes);
  check_preview(mailstead::mime::make_preview(bytes, structure), mailstead::mime::kMaxPreviewChars);
  check_preview(mailstead::mime::make_preview(bytes, structure, {.max_preview_read = 64}, 7), 7);
  // The bytes as an HTML part's text (most inputs never reach the HTML path above).
  for (std::size_t bound : {std::size_t{5}, std::size_t{4096}}) {
    auto text = mailstead::mime::html_to_text(bytes, bound);
    if (text.size() > bound) std::abort();
    if (mailstead::text::valid_utf8(bytes) && !mailstead::text::valid_utf8(text)) std::abort();
  }
  return 0;
}
