#pragma once
// Authentication-Results (RFC 8601): the field smtpd writes on mail it receives, saying what
// each check found, and the removal of fields from outside that claim to be ours. Pure.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mailstead::smtp {

// One resinfo (§2.2): "dkim=pass (reason) header.d=example.org header.s=sel".
struct MethodResult {
  std::string method;                                           // "dkim", later "spf", "dmarc", ...
  std::string result;                                           // "pass", "fail", ... (§2.7)
  std::string reason;                                           // written as a comment; may be empty
  std::vector<std::pair<std::string, std::string>> properties;  // ptype.property, value
};

// The whole field, folded, ending in CRLF. With no results: "authserv-id; none" (§2.2).
std::string authentication_results(std::string_view authserv_id, const std::vector<MethodResult>& results);

// §2.5: the authserv-id a field's value names (its first token or quoted string, comments
// skipped); empty when there is none to read.
std::string authserv_id_of(std::string_view value);

// §5: `message` without the Authentication-Results fields whose authserv-id is ours (compared
// without regard to case): a receiver must not pass on a claim to be us that it did not make.
// Returns how many were removed.
std::size_t strip_our_results(std::string& message, std::string_view authserv_id);

}  // namespace mailstead::smtp
