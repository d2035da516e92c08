#pragma once
// Building IMAP response data (RFC 9051 §7, §9): strings in the form their content allows,
// flag lists, dates, ENVELOPE and BODYSTRUCTURE. Pure; everything appends to a std::string.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/mime/mime.hpp"

namespace mailstead::imap {

// A quoted string when the text allows one, else a literal (8-bit, CR, LF, NUL... always fit
// in a literal; a literal is never wrong).
// With `utf8` (UTF8=ACCEPT enabled, RFC 9755 §3) a quoted string may hold UTF-8.
void append_string(std::string& out, std::string_view text, bool utf8 = false);
void append_nstring(std::string& out, const std::optional<std::string>& text);
// A literal; with `binary`, one that holds a NUL is a literal8 (RFC 3516 §4.2: BINARY[], METADATA values).
void append_literal(std::string& out, std::string_view bytes, bool binary);
// An atom when the text is one (and not NIL), else a string: for mailbox names.
void append_astring(std::string& out, std::string_view text, bool utf8 = false);

// "(\Seen \Answered $Label)"; `recent` adds \Recent (IMAP4rev1 only).
std::string flag_list(std::uint32_t flags, std::span<const std::string> keywords, bool recent = false);
// A system flag's bit for "\Seen" and the like (case-insensitive); 0 if it is not one.
std::uint32_t system_flag(std::string_view name);

// "17-Jul-1996 02:44:25 +0000"
std::string format_internal_date(std::int64_t seconds);

void append_envelope(std::string& out, const mime::Envelope& envelope);
// BODY (extensible = false) or BODYSTRUCTURE (true) of a part.
void append_body_structure(std::string& out, const mime::Part& part, bool extensible);

}  // namespace mailstead::imap
