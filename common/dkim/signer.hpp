#pragma once
// DKIM signing (RFC 6376 §5): relaxed/relaxed, rsa-sha256 or ed25519-sha256 (RFC 8463), the
// header fields a site chooses (oversigned ones listed once more than they occur, so that none
// can be added after signing), t= and an optional x=.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/dkim/canon.hpp"
#include "common/dkim/key.hpp"

namespace mailstead::dkim {

struct SignOptions {
  std::vector<std::string> headers;   // signed as often as they occur
  std::vector<std::string> oversign;  // signed once more than they occur (present or not)
  std::int64_t now = 0;               // t=
  std::int64_t expire_after = 0;      // x= is t= plus this; 0: no x=
};

struct Signer {
  std::string domain;  // d=
  std::string selector;
  PrivateKey key;
};

// The DKIM-Signature field, folded and ending in CRLF, to put above the message's header.
std::string sign_message(std::string_view message, const Signer& signer, const SignOptions& options);

// One message signed by several keys (dual signing, RFC 8463 §4): the header is split, the h=
// list chosen and the body hashed once, whatever the number of signatures.
class MessageSigner {
 public:
  MessageSigner(std::string_view message, const SignOptions& options);
  std::string sign(const Signer& signer) const;  // as sign_message

 private:
  const SignOptions& options_;
  std::vector<Field> fields_;
  std::vector<std::string> names_;
  std::string body_hash_;  // base64
};

// The h= list for a header: each name of `options.oversign` once more than it occurs, then each
// of `options.headers` as often as it occurs, in the order given.
std::vector<std::string> signed_names(const std::vector<Field>& fields, const SignOptions& options);

// §3.7: the SHA-256 of the canonical body (the first `limit` bytes of it with l=).
std::string body_hash(std::string_view body, Canon canon, std::optional<std::uint64_t> limit = std::nullopt);

// §3.7: what the signature covers: the fields h= names, canonicalised, then the
// DKIM-Signature field itself with an empty b= value and without its final CRLF.
std::string signed_data(const std::vector<Field>& fields, const std::vector<std::string>& names,
                        const Field& signature_field, Canon canon);

// `raw` without the value of its b= tag (everything after "b=" up to the next ';' or the end):
// what signed_data hashes of a DKIM-Signature field, when signing and when verifying.
std::string without_b_value(std::string_view raw);

}  // namespace mailstead::dkim
