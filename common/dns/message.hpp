#pragma once
// DNS responses (RFC 1035 §4) read into plain records: a pure function over the bytes a
// server sent, so that every answer the checks use (TXT for SPF, DKIM and DMARC, PTR, MX, A,
// AAAA) keeps its TTL for the cache. Bounded whatever a server sends: names are at most 255
// octets and follow at most kMaxPointers compression pointers, and a record that runs past the
// packet makes the whole response malformed.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailstead::dns {

enum class Type : std::uint16_t {
  a = 1,
  ns = 2,
  cname = 5,
  soa = 6,
  ptr = 12,
  mx = 15,
  txt = 16,
  aaaa = 28,
  srv = 33,
};
std::string_view to_string(Type type);

struct Record {
  std::string owner;  // lower case, without the trailing dot
  Type type = Type::a;
  std::uint32_t ttl = 0;
  // A/AAAA: the 4 or 16 address bytes. CNAME, PTR, NS, MX, SRV: the target name (lower case,
  // no trailing dot; "" for the root). TXT: its character-strings joined without separator
  // (RFC 7208 §3.3, RFC 6376 §3.6.2.2). Other types are skipped.
  std::string data;
  std::uint16_t preference = 0;  // MX; SRV's priority
  std::uint16_t weight = 0;      // SRV
  std::uint16_t port = 0;        // SRV
};

struct Response {
  std::uint16_t id = 0;
  unsigned rcode = 0;  // 0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN, ...
  bool truncated = false;
  std::string question;  // the name asked, lower case, no trailing dot
  Type question_type = Type::a;
  std::vector<Record> answers;
  // RFC 2308 §5: how long a negative answer may be cached, from the authority section's SOA
  // (the lesser of its TTL and its MINIMUM field); nullopt without one.
  std::optional<std::uint32_t> negative_ttl;
};

constexpr unsigned kMaxPointers = 32;

// nullopt when the packet is not a well-formed response.
std::optional<Response> parse_response(std::string_view packet);

// Whether `name` (no final dot) can be asked for: 1 to 253 octets, labels of 1 to 63 printable
// ASCII octets other than space (RFC 1035 §2.3.4; mail's checks ask for names with '_').
bool valid_query_name(std::string_view name);

// The name under which a reverse lookup is made: "4.3.2.1.in-addr.arpa" for 1.2.3.4, the
// nibbles of an IPv6 address under ip6.arpa (RFC 3596 §2.5). `address`: 4 or 16 bytes.
std::string reverse_name(std::string_view address);

}  // namespace mailstead::dns
