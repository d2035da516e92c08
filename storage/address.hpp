#pragma once
// Mail addresses as the account tables see them. Pure functions.
//
// Domains compare case-insensitively (stored lower-case, one trailing dot dropped). Local parts
// are kept as given and compared case-insensitively unless the policy says otherwise; the
// lookup key of an address is "<local key>@<domain>". Case folding is ASCII-only: UTF-8 local
// parts (SMTPUTF8) match byte for byte beyond ASCII.

#include <optional>
#include <string>
#include <string_view>

#include "storage/store.hpp"

namespace mailstead::storage {

struct AddressParts {
  std::string local;
  std::string domain;  // as given
};

// Splits at the last '@'; nullopt when either side is empty.
std::optional<AddressParts> split_address(std::string_view address);

std::string lower_ascii(std::string_view text);

// Lower-case, without one trailing dot; nullopt if it is not a host name (LDH labels of 1 to 63
// bytes, UTF-8 allowed for internationalised names, at most 253 bytes). An internationalised
// name, given with U-labels or A-labels, comes back with U-labels (text::domain_to_unicode),
// so "xn--bcher-kva.example" and "BÜCHER.example" are both "bücher.example".
std::optional<std::string> normalize_domain(std::string_view domain);

// Why `local` cannot be the local part of a user or an alias, or nullopt if it can: 1 to 64
// bytes of valid UTF-8, no spaces, controls or specials ( ) < > [ ] : ; @ \ , ", no leading,
// trailing or doubled dot.
std::optional<std::string> local_part_problem(std::string_view local);

// The local part as its mailbox is named: a quoted string (RFC 5321 §4.1.2) without its
// quotes and backslash escapes, so that "bob"@example.test is the same address as
// bob@example.test wherever addresses are compared (else a catch-all's owner could send as
// the quoted form of another user's address). Anything else comes back as given.
std::string unquote_local_part(std::string_view local);

std::string address_key(std::string_view local, std::string_view normalized_domain, const AddressPolicy& policy);
inline std::string catch_all_key(std::string_view normalized_domain) {
  return "@" + std::string(normalized_domain);
}

// "alice" for "alice+tag" (split at the first separator), or nullopt if there is no tag.
std::optional<std::string_view> strip_tag(std::string_view local, const AddressPolicy& policy);

}  // namespace mailstead::storage
