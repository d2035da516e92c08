#pragma once
// What a reader sees first of a message, for IMAP PREVIEW (RFC 8970), and HTML reduced to the
// text a reader sees. Pure functions over the message bytes and their parsed structure
// (mime.hpp); what they read is bounded (Limits::max_preview_read) whatever the message holds.

#include <cstddef>
#include <string>
#include <string_view>

#include "common/mime/mime.hpp"

namespace mailstead::mime {

// RFC 8970 §3.1: a preview MUST NOT be longer than 256 characters.
inline constexpr std::size_t kMaxPreviewChars = 256;
// The start of the message's first text part that is not an attachment: within a
// multipart/alternative the text/plain version, else text/html reduced to text (RFC 2046
// §5.1.4); decoded from its transfer encoding and charset to UTF-8; quoted lines ("> ...",
// HTML blockquotes) left out and nothing after a signature separator ("-- "); white space
// runs as one space, invisible padding dropped; at most `max_chars` code points. No more than
// limits.max_preview_read bytes of the part's body are read: a preview is the start of a text,
// and a stranger's 50 MB part must cost what a letter does (the default is generous because
// HTML mail often opens with tens of kilobytes of style sheet before its first word). Empty when
// the message has no text a reader would see first: only attachments, or encrypted (RFC 8970
// §3.1 then asks for a zero-length string).
std::string make_preview(std::string_view message, const Part& root, const Limits& limits = {},
                         std::size_t max_chars = kMaxPreviewChars);

// The text of an HTML document or fragment: tags and comments removed; the content of script,
// style, head, title and template left out; block elements as line breaks, the lines of a
// blockquote begun with "> "; white space in the source as spaces; character references
// decoded (numeric, and the named ones mail uses; an unknown one stays as written). At most
// `max_out` bytes are produced, and the time is linear in the input.
std::string html_to_text(std::string_view html, std::size_t max_out);

}  // namespace mailstead::mime
