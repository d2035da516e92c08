#pragma once
// The Sender Rewriting Scheme (Shevek's SRS, as libsrs2 and postsrsd write it): mail that an
// alias forwards to another domain leaves with an envelope sender of the forwarding domain, so
// that it passes SPF at the destination, and a bounce to that address finds its way back to the
// original sender. Pure; HMAC-SHA1 from libcrypto.
//
//   SRS0=HHHHHH=TT=example.org=joe@forwarder.example       (forwarded once)
//   SRS1=HHHHHH=first.example==HHHH=TT=example.org=joe@forwarder.example   (forwarded again)
//
// Implementation notes
// - HH..: the first kHashLength characters of the base64 HMAC-SHA1, under the store's SRS
//   secret, of the fields after it; compared without case, since some MTAs lower-case the
//   addresses they bounce to, and computed over lower-cased fields for the same reason.
//   (libsrs2 uses 4 characters; 6 keep about 30 bits after case folding, so forging one takes
//   about a billion RCPTs.)
// - TT: the day of signing, days since the epoch modulo 1024 in two base32 characters; an
//   address older than max_age days is refused, so a bounce address cannot be used for ever.
// - A sender that is already SRS0 becomes SRS1 (keeping the first forwarder and its opaque
//   part, re-hashed by us); an SRS1 sender keeps its first forwarder. Reversing an SRS1 gives the
//   SRS0 address at the first forwarder, which reverses it in turn.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace mailstead::srs {

inline constexpr std::size_t kHashLength = 6;

// Whether a local part is an SRS address ("SRS0=", "SRS1=", any case, '=', '+' or '-').
bool is_srs(std::string_view local_part);

// `sender` ("local@domain", not empty) as `forwarder` sends it on; nullopt when it cannot be
// (no '@', or a result longer than an address may be: RFC 5321 §4.5.3.1.3, 256 octets).
std::optional<std::string> forward(std::string_view sender, std::string_view forwarder, std::string_view secret,
                                   std::int64_t now);

enum class Error {
  malformed,  // not the SRS syntax
  bad_hash,   // not made with our secret (forged, or changed on the way)
  expired,    // older than max_age days
};
std::string_view to_string(Error error);

// Where a bounce to `local_part`@(one of our domains) goes: the original sender, or for SRS1
// the SRS0 address at the first forwarder.
std::variant<std::string, Error> reverse(std::string_view local_part, std::string_view secret, std::int64_t now,
                                         unsigned max_age_days);

}  // namespace mailstead::srs
