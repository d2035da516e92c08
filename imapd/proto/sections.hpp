#pragma once
// The bytes a FETCH section names (RFC 9051 §6.4.5 "BODY[<section>]"): the message, a part by
// its number path, its MIME header, or an encapsulated message's HEADER, TEXT and
// HEADER.FIELDS — cut from the stored bytes with the structure computed at delivery, never
// re-parsed. Pure.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/mime/mime.hpp"
#include "imapd/proto/fetch_items.hpp"

namespace mailstead::imap {

// The part that `numbers` names (empty: the message itself), or nullptr if there is none.
const mime::Part* find_part(const mime::Part& root, const std::vector<std::uint32_t>& numbers);

// The section's bytes; nullopt when the section does not exist in this message.
std::optional<std::string> section_bytes(std::string_view message, const mime::Part& root, const Section& section);

// The header lines whose names are (keep) or are not (!keep) in `names`, with their folding,
// followed by the blank line.
std::string filter_header(std::string_view header_block, const std::vector<std::string>& names, bool keep);

// The response name of a section: "1.2.HEADER.FIELDS (From To)".
std::string section_name(const Section& section);

}  // namespace mailstead::imap
