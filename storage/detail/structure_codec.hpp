#pragma once
// Byte layout of a message's MIME structure (common/mime) and its preview, stored with each
// message when it is stored, so that FETCH ENVELOPE / BODYSTRUCTURE / BODY[section] / PREVIEW
// never re-parse.

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/mime/mime.hpp"

namespace mailstead::storage::codec {

// With the message's preview text (common/mime/preview.hpp), made when it was stored.
std::string encode_structure(const mime::Part& part, std::string_view preview);
mime::Part decode_structure(std::string_view bytes);  // throws StorageError(corrupt)
// The preview; nullopt for a record stored before previews were (format 1).
std::optional<std::string> decode_preview(std::string_view bytes);  // throws StorageError(corrupt)

// The top-level ENVELOPE alone (empty if the record has none), skipping over the rest
// without allocating: FETCH ENVELOPE over a big mailbox decodes nothing else.
mime::Envelope decode_envelope(std::string_view bytes);  // throws StorageError(corrupt)

// The top-level header fields alone, as views into `bytes`, without decoding the rest (IMAP
// SEARCH on headers reads nothing else). fn returns false to stop.
void visit_header_fields(std::string_view bytes,
                         const std::function<bool(std::string_view name, std::string_view value)>& fn);

}  // namespace mailstead::storage::codec
