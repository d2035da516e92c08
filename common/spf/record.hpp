#pragma once
// SPF records (RFC 7208 §4.6, §5, §6) and macros (§7), read into terms: pure functions, so that
// a stranger's record is parsed and its macros expanded within bounds before any lookup.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace mailstead::spf {

enum class Result { none, neutral, pass, fail, softfail, temperror, permerror };
std::string_view to_string(Result result);  // as Authentication-Results and Received-SPF write it

enum class Qualifier : char { pass = '+', fail = '-', softfail = '~', neutral = '?' };
Result result_of(Qualifier qualifier);

enum class Mechanism { all, include, a, mx, ptr, ip4, ip6, exists };

struct Directive {
  Qualifier qualifier = Qualifier::pass;
  Mechanism mechanism = Mechanism::all;
  std::string domain_spec;  // include, a, mx, ptr, exists (empty: the current domain)
  std::string address;      // ip4, ip6: the 4 or 16 bytes
  unsigned cidr4 = 32;      // ip4, a, mx
  unsigned cidr6 = 128;     // ip6, a, mx
};

struct Record {
  std::vector<Directive> directives;
  std::optional<std::string> redirect;  // domain-spec
  std::optional<std::string> exp;       // domain-spec
};

// §4.5: whether a TXT record is an SPF record ("v=spf1" alone or followed by a space).
bool is_spf_record(std::string_view txt);

// §4.6, §5, §6: a record's terms; on failure why (the check's result is then permerror).
std::variant<Record, std::string> parse_record(std::string_view txt);

// What the macros of §7 expand from.
struct MacroContext {
  std::string sender;     // s: the <sender> (local-part@domain)
  std::string domain;     // d: the current domain
  std::string ip;         // the client's 4 or 16 address bytes
  std::string helo;       // h
  std::string receiver;   // r (exp only)
  std::int64_t now = 0;   // t (exp only)
  std::string validated;  // p: set by the caller when known, else "unknown"
};

constexpr std::size_t kMaxExpansion = 253;  // a domain name; longer expansions are cut (§7.3)

// §7: a macro-string expanded; `explanation` allows c, r and t (only in exp= text). nullopt:
// malformed (a '%' not followed by '{', '%', '_' or '-', an unknown letter).
std::optional<std::string> expand(std::string_view macro_string, const MacroContext& context, bool explanation = false);

// §7.3, §4.8: an expanded domain-spec as a name to look up: longer than 253 octets, the
// leftmost labels go until it fits; nullopt if it is not a usable domain name.
std::optional<std::string> target_name(std::string expanded);

}  // namespace mailstead::spf
