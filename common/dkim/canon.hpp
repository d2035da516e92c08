#pragma once
// DKIM canonicalisation (RFC 6376 §3.4): what a signer and a verifier hash of a message's
// header fields and body, "simple" (as it is) or "relaxed" (whitespace and folding that
// transit may change, ignored). Pure; the body is handed out in pieces, never copied whole.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailstead::dkim {

enum class Canon { simple, relaxed };

// One header field as it stands in the message: `raw` is the whole field (name, colon, folded
// value) without its final CRLF; `name` is the name as written.
struct Field {
  std::string_view name;
  std::string_view raw;
};

// The header fields of a header block (the message up to the empty line), in order.
std::vector<Field> split_fields(std::string_view header);

// §3.4.1 / §3.4.2: one field, with its CRLF ("name:value\r\n" when relaxed).
std::string canonical_field(const Field& field, Canon canon);

// §3.4.3 / §3.4.4: the canonical body, in pieces, to `sink`; at most `limit` bytes of it when
// a limit is given (the l= tag). Returns the canonical body's whole length.
using Sink = std::function<void(std::string_view)>;
std::uint64_t canonical_body(std::string_view body, Canon canon, const Sink& sink,
                             std::optional<std::uint64_t> limit = std::nullopt);

// The fields that h= names, bottom-up for repeated names (§5.4.2): the n-th occurrence of a
// name in `names` takes the n-th field of that name counted from the end of the header;
// a name with no such field left contributes nothing (nullptr), which is how oversigning
// (naming a field once more than it occurs) forbids adding one.
std::vector<const Field*> select_fields(const std::vector<Field>& fields, const std::vector<std::string>& names);

}  // namespace mailstead::dkim
