#pragma once
// What IMAP's syntax knows of a stored message: the system flags as IMAP names them (RFC 9051
// §2.3.2; \Recent is a session's, never stored) and the facts SEARCH compares without reading
// the message. The session fills them from the store's record (imapd/stored_message.hpp);
// imap_proto itself never sees storage.

#include <cstdint>
#include <span>
#include <string>

namespace mailstead::imap {

enum Flag : std::uint32_t {
  kSeen = 1,
  kAnswered = 2,
  kFlagged = 4,
  kDeleted = 8,
  kDraft = 16,
};

struct MessageFacts {
  std::uint32_t uid = 0;
  std::uint32_t flags = 0;                // Flag bits
  std::span<const std::string> keywords;  // sorted, unique; a view into the caller's record
  std::int64_t internal_date = 0;         // seconds since the epoch
  std::uint64_t size = 0;                 // octets
  std::uint64_t modseq = 0;
};

}  // namespace mailstead::imap
