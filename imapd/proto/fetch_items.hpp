#pragma once
// What FETCH asks for (RFC 9051 §6.4.5, RFC 3501 for the RFC822 forms, RFC 3516 BINARY,
// RFC 7162 MODSEQ, RFC 8970 PREVIEW), as parsed from the command.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mailstead::imap {

struct Section {
  enum class Text { all, header, header_fields, header_fields_not, text, mime };
  std::vector<std::uint32_t> part;  // "1.2" -> {1, 2}; empty: the whole message
  Text text = Text::all;
  std::vector<std::string> fields;  // HEADER.FIELDS (...), as written
};

struct Partial {
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};

struct FetchItem {
  enum class Kind {
    flags,
    internal_date,
    size,
    envelope,
    body,
    body_structure,
    uid,
    modseq,
    body_section,  // BODY[...] / BODY.PEEK[...] and the RFC822 forms
    binary,        // BINARY[...] / BINARY.PEEK[...]
    binary_size,
    email_id,  // RFC 8474 OBJECTID
    thread_id,
    save_date,  // RFC 8514
    preview,    // RFC 8970
  };
  Kind kind = Kind::flags;
  bool peek = false;  // does not set \Seen
  bool lazy = false;  // PREVIEW (LAZY): NIL rather than work to make a preview not stored
  Section section;
  std::optional<Partial> partial;
  // For the RFC822, RFC822.HEADER and RFC822.TEXT forms: the name the reply must use.
  std::string legacy_name;
};

struct FetchRequest {
  std::vector<FetchItem> items;
  std::optional<std::uint64_t> changed_since;  // CONDSTORE modifier
  bool vanished = false;
};

bool sets_seen(const FetchRequest& request);

}  // namespace mailstead::imap
