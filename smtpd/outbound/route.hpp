#pragma once
// Where mail for a domain goes, decided from DNS answers by pure functions (RFC 5321 §5.1,
// RFC 7505): MX hosts in preference order, shuffled among equal preferences; no MX records
// at all -> the domain itself (implicit MX); a null MX ("0 .") -> the domain accepts no mail;
// NXDOMAIN -> no such domain (permanent); SERVFAIL, timeouts -> try again later.

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace mailstead::outbound {

enum class DnsStatus {
  ok,
  no_data,    // the name exists but has no record of the type asked for
  nxdomain,   // the name does not exist
  temporary,  // SERVFAIL, refused, timeout, no server reachable
};

struct MxRecord {
  std::uint16_t preference = 0;
  std::string host;  // without a trailing dot; "" for the null MX "."
};

struct MxAnswer {
  DnsStatus status = DnsStatus::temporary;
  std::vector<MxRecord> records;
  std::string error;  // c-ares' text, for the queue's last error
};

enum class RouteKind { hosts, null_mx, no_such_domain, temporary };

struct Route {
  RouteKind kind = RouteKind::temporary;
  std::vector<std::string> hosts;  // in the order to try them
  std::string reason;              // for the queue and the bounce
};

Route plan_route(const std::string& domain, const MxAnswer& answer, std::mt19937_64& rng);

}  // namespace mailstead::outbound
