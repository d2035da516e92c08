#pragma once
// What parsing one message may cost. A stranger chooses every byte of a message, and a
// structure is parsed for each one stored: without these bounds a 1 MB message of empty MIME
// parts took 165 MB to parse, and a header of five million tiny fields 535 MB.
// The defaults are the config schema's ([limits] in mailstead.toml, docs/SECURITY.md).

#include <cstdint>

namespace mailstead::mime {

// The deepest nesting any structure may have, whatever the config says: the structure
// record's decoder refuses deeper records as corrupt.
inline constexpr unsigned kMaxDepth = 50;

struct Limits {
  unsigned max_parts = 1000;                       // parts indexed, the message itself included
  unsigned max_depth = 20;                         // multipart and message/rfc822 levels, at most kMaxDepth
  unsigned max_header_fields = 1000;               // fields indexed per header block
  std::uint64_t max_header_size = 1024 * 1024;     // bytes of one header block that are indexed
  std::uint64_t max_structure_size = 1024 * 1024;  // the parsed structure, about as stored
  std::uint64_t max_preview_read = 256 * 1024;     // bytes of the text part a preview is made from
};

}  // namespace mailstead::mime
