#pragma once
// DMARC (RFC 7489): policy records read (§6.3), organisational domains from the Public Suffix
// List (§3.2, through libpsl and Debian's publicsuffix), identifier alignment (§3.1) and the
// verdict for a message from its SPF and DKIM results (§6.6). Pure but for reading the list
// once; the record lookups (§6.6.3) are the caller's.

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace mailstead::dmarc {

enum class Policy { none, quarantine, reject };
std::string_view to_string(Policy policy);

struct Record {
  Policy policy = Policy::none;                // p=
  std::optional<Policy> subdomain_policy;      // sp=
  bool strict_dkim = false;                    // adkim=s
  bool strict_spf = false;                     // aspf=s
  unsigned percent = 100;                      // pct=
  std::vector<std::string> aggregate_reports;  // rua=, URIs
};

// §6.4 / §6.6.3: whether a TXT record is a DMARC record ("v=DMARC1" as its first tag).
bool is_dmarc_record(std::string_view txt);
// A record's tags; on failure why. An unknown or missing p= with a valid rua= reads as p=none
// (§6.6.3); unknown tags are ignored (§6.3).
std::variant<Record, std::string> parse_record(std::string_view txt);

// §3.2: the registrable domain under the public suffix ("example.co.uk" for
// "mail.example.co.uk"); the domain itself, lower case, when the list knows no suffix for it.
std::string organizational_domain(std::string_view domain);

// §3.1: relaxed alignment is the same organisational domain; strict is the same name.
bool aligned(std::string_view a, std::string_view b, bool strict);

enum class Result { none, pass, fail, temperror, permerror };
std::string_view to_string(Result result);

// What was authenticated about the message, from the SPF and DKIM checks.
struct Evidence {
  bool spf_pass = false;
  std::string spf_domain;                 // MAIL FROM's domain (or HELO's) that passed
  std::vector<std::string> dkim_domains;  // d= of each signature that passed
};

struct Verdict {
  Result result = Result::none;
  Policy policy = Policy::none;       // the record's, for this domain (p= or sp=)
  Policy disposition = Policy::none;  // what to do: the policy, after pct= sampling, on fail
  std::string reason;
};

// §6.6.2: the verdict for `author_domain` given its policy record (found at the domain itself
// or at its organisational domain: `record_domain`). `roll` is a number in [0, 100) drawn per
// message for pct= (§6.6.4: a message not sampled gets the next lesser policy).
Verdict evaluate(std::string_view author_domain, std::string_view record_domain, const Record& record,
                 const Evidence& evidence, unsigned roll);

}  // namespace mailstead::dmarc
