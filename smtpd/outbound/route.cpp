#include "smtpd/outbound/route.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace mailstead::outbound {

Route plan_route(const std::string& domain, const dns::MxAnswer& answer, std::mt19937_64& rng) {
  Route route;
  switch (answer.status) {
    case dns::Status::nxdomain:
      route.kind = RouteKind::no_such_domain;
      route.reason = fmt::format("Domain {} does not exist (NXDOMAIN)", domain);
      return route;
    case dns::Status::temporary:
      route.kind = RouteKind::temporary;
      route.reason = fmt::format("DNS lookup of MX for {} failed: {}", domain, answer.error);
      return route;
    case dns::Status::no_data:
      route.kind = RouteKind::hosts;  // RFC 5321 §5.1: the domain itself is the implicit MX
      route.hosts.push_back(domain);
      return route;
    case dns::Status::ok:
      break;
  }
  auto records = answer.records;
  for (const auto& r : records) {
    if (r.host.empty() && records.size() == 1) {
      route.kind = RouteKind::null_mx;
      route.reason = fmt::format("Domain {} accepts no mail (null MX, RFC 7505)", domain);
      return route;
    }
  }
  std::shuffle(records.begin(), records.end(), rng);
  std::stable_sort(records.begin(), records.end(),
                   [](const dns::MxRecord& a, const dns::MxRecord& b) { return a.preference < b.preference; });
  for (const auto& r : records)
    if (!r.host.empty() && std::find(route.hosts.begin(), route.hosts.end(), r.host) == route.hosts.end())
      route.hosts.push_back(r.host);
  if (route.hosts.empty()) {  // only "." among others: nothing usable
    route.kind = RouteKind::null_mx;
    route.reason = fmt::format("Domain {} accepts no mail (null MX, RFC 7505)", domain);
    return route;
  }
  route.kind = RouteKind::hosts;
  return route;
}

}  // namespace mailstead::outbound
