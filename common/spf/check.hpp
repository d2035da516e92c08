#pragma once
// The SPF check (RFC 7208 §4): check_host() over a client address, a domain and a sender,
// with every mechanism and modifier, the limits of §4.6.4 (10 lookups that cost DNS queries,
// 2 void lookups, 10 MX and PTR names each) and a deadline of its own. Lookups go through the
// function it is given: the daemon's shared resolver, or a table in the unit tests.

#include <chrono>
#include <functional>
#include <string>

#include "common/dns/answer.hpp"
#include "common/net/asio.hpp"
#include "common/spf/record.hpp"

namespace mailstead::spf {

using Lookup = std::function<net::awaitable<dns::Answer>(std::string name, dns::Type type)>;

struct Limits {
  unsigned max_lookups = 10;                                                // §4.6.4
  unsigned max_void = 2;                                                    // §4.6.4
  std::chrono::steady_clock::duration max_time = std::chrono::seconds(20);  // §4.6.4: at least 20 s
};

struct Outcome {
  Result result = Result::none;
  std::string reason;       // why, for logs and the comment of Authentication-Results
  std::string explanation;  // a fail's exp= text, expanded (§6.2), when the domain gives one
};

struct Query {
  std::string ip;      // the client's address: 4 bytes, or 16 for IPv6 (never IPv4-mapped)
  std::string domain;  // the domain checked: MAIL FROM's, or the HELO name
  std::string sender;  // MAIL FROM, or "postmaster@" + the HELO name when it is empty (§4.3)
  std::string helo;
  std::string receiver;  // our host name, for %{r}
  std::int64_t now = 0;
};

net::awaitable<Outcome> check_host(Lookup lookup, Query query, Limits limits = {});

}  // namespace mailstead::spf
