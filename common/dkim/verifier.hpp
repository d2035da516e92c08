#pragma once
// DKIM verification (RFC 6376 §6): DKIM-Signature fields read and checked (§6.1.1), key records
// read (§3.6.1), and each signature verified against its key (§6.1.3). Pure: the caller fetches
// each signature's key record from DNS (`selector._domainkey.domain` TXT) and hands it in, so
// that everything here is testable and fuzzable without a socket.
//
// Results are those of RFC 8601 §2.7.1. A signature whose l= leaves part of the body unsigned
// verifies as `policy`, not `pass`: anything may have been appended below what was signed
// (RFC 6376 §8.2), so it vouches for nothing a reader would see as the message.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/dkim/canon.hpp"
#include "common/dkim/key.hpp"

namespace mailstead::dkim {

enum class Result { none, pass, fail, policy, neutral, temperror, permerror };
std::string_view to_string(Result result);  // as Authentication-Results writes it

// The tags of a tag-list (§3.2): name → value, whitespace inside values removed for the tags
// whose values are base64 (b, bh, p) and trimmed for the others. nullopt: malformed (a tag
// without '=', an invalid name, a tag twice).
using Tags = std::vector<std::pair<std::string, std::string>>;
std::optional<Tags> parse_tags(std::string_view list);

struct Signature {
  Algorithm algorithm = Algorithm::rsa_sha256;
  Canon header_canon = Canon::simple;
  Canon body_canon = Canon::simple;
  std::string domain;                     // d=, lower case
  std::string selector;                   // s=
  std::string auid;                       // i=, "@d" by default
  std::vector<std::string> headers;       // h=
  std::optional<std::uint64_t> length;    // l=
  std::optional<std::int64_t> timestamp;  // t=
  std::optional<std::int64_t> expires;    // x=
  std::string body_hash;                  // bh=, decoded
  std::string signature;                  // b=, decoded
};

// §6.1.1: a DKIM-Signature field (`raw`: name, colon and value, as in the message) read and
// checked; on failure, why (the signature's result is then permerror).
std::variant<Signature, std::string> parse_signature(std::string_view raw);

// The record at `selector._domainkey.domain` (§3.6.1).
struct KeyRecord {
  Algorithm algorithm = Algorithm::rsa_sha256;  // k=
  std::string public_key;                       // p=, decoded; empty: revoked
  bool testing = false;                         // t=y
  bool strict = false;                          // t=s: i= must be d= exactly
};
std::variant<KeyRecord, std::string> parse_key_record(std::string_view txt);

struct Verdict {
  Result result = Result::none;
  std::string reason;  // for Authentication-Results' comment and the log
};

// Limits on what a stranger's signature may make a verifier do.
constexpr std::size_t kMaxSignedFields = 512;  // h= entries
constexpr unsigned kMinRsaBits = 1024;         // RFC 8301 §3.2

// A parsed message: its header fields and its body, split once for every signature on it.
struct Message {
  explicit Message(std::string_view message);
  std::vector<Field> fields;
  std::string_view body;
  // Body hashes computed so far, by canonicalisation and l=: the signatures of one message
  // (an author's and a list's, both relaxed; RFC 8463's dual signing) cost one pass over it.
  struct BodyHash {
    Canon canon;
    std::optional<std::uint64_t> length;
    std::string digest;
    std::uint64_t total = 0;  // canonical body bytes
  };
  mutable std::vector<BodyHash> body_hashes;
};

// §6.1.3: one signature (the field at `field_index` of message.fields, parsed as `signature`)
// against the record found for it. Body hashes are computed here; a caller checking several
// signatures of one message hands each the same Message.
Verdict verify(const Message& message, std::size_t field_index, const Signature& signature, const KeyRecord& key,
               std::int64_t now);

// A key record's TXT answer to verdict: the first record of several that reads as a key
// (§3.6.2.2 leaves the choice to the verifier); none: permerror.
std::variant<KeyRecord, Verdict> choose_key(const std::vector<std::string>& txt_records);

}  // namespace mailstead::dkim
