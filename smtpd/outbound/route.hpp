#pragma once
// Where mail for a domain goes, decided from DNS answers by pure functions (RFC 5321 §5.1,
// RFC 7505): MX hosts in preference order, shuffled among equal preferences; no MX records
// at all -> the domain itself (implicit MX); a null MX ("0 .") -> the domain accepts no mail;
// NXDOMAIN -> no such domain (permanent); SERVFAIL, timeouts -> try again later.

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "common/dns/answer.hpp"

namespace mailstead::outbound {

enum class RouteKind { hosts, null_mx, no_such_domain, temporary };

struct Route {
  RouteKind kind = RouteKind::temporary;
  std::vector<std::string> hosts;  // in the order to try them
  std::string reason;              // for the queue and the bounce
};

Route plan_route(const std::string& domain, const dns::MxAnswer& answer, std::mt19937_64& rng);

}  // namespace mailstead::outbound
