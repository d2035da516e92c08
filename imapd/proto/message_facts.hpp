#pragma once
// What IMAP's syntax knows of a stored message: the system flags as IMAP names them (RFC 9051
// §2.3.2; \Recent is a session's, never stored) and the facts SEARCH compares without reading
// the message. The session fills them from the store's record (imapd/stored_message.hpp);
// imap_proto itself never sees storage.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

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
  std::string_view email_id;    // RFC 8474 EMAILID; a view into the caller's buffer
  std::int64_t saved_date = 0;  // RFC 8514 save date, seconds since the epoch
  std::uint64_t thread = 0;     // RFC 8474 thread (0: none known)
};

// RFC 8474 §5.1: a message's EMAILID, from the SHA-256 of its content (`hash`, 32 bytes): the
// same for every copy of the same message (COPY, MOVE, delivery to several recipients), never
// another message's. "M" and the first 96 bits in hex: objectid = 1*255(ALPHA / DIGIT / "_" / "-").
inline std::string email_id_of(std::span<const std::uint8_t> hash) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "M";
  for (std::size_t i = 0; i < 12 && i < hash.size(); ++i) {
    out += kHex[hash[i] >> 4];
    out += kHex[hash[i] & 15];
  }
  return out;
}

// RFC 8474 §5.2: a thread's THREADID, "T" and its number in hex.
inline std::string thread_id_of(std::uint64_t thread) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string digits;
  do {
    digits.insert(digits.begin(), kHex[thread & 15]);
    thread >>= 4;
  } while (thread != 0);
  return "T" + digits;
}

}  // namespace mailstead::imap
