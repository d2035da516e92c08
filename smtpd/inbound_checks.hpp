#pragma once
// The checks smtpd makes of mail from other servers before it accepts it, each ending in a
// resinfo of the Authentication-Results field it writes (RFC 8601). DNS goes through the
// process's shared resolver and cache: SPF (RFC 7208) at MAIL FROM, then DKIM (RFC 6376 §6) and
// DMARC (RFC 7489) on the message.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/dkim/verifier.hpp"
#include "common/dmarc/dmarc.hpp"
#include "common/dns/resolver.hpp"
#include "common/spf/check.hpp"
#include "smtpd/auth_results.hpp"
#include "smtpd/proto/command.hpp"

namespace mailstead::smtp {

// SPF of one transaction: the MAIL FROM domain's, or the HELO name's for a null sender (RFC 7208
// §2.4).
struct SpfCheck {
  spf::Outcome outcome;
  std::string domain;  // the domain checked, A-labels
  bool helo = false;   // the HELO identity was checked
};

net::awaitable<SpfCheck> check_spf(dns::SharedResolver& dns, const net::asio::ip::address& client, const Mail& mail,
                                   const std::string& helo, const std::string& hostname, std::chrono::seconds max_time);

// "spf=pass smtp.mailfrom=example.org" (or smtp.helo=).
MethodResult spf_result(const SpfCheck& check);

// One DKIM-Signature's outcome, with what identifies it (RFC 6008's header.b: the start of b=).
struct DkimCheck {
  dkim::Verdict verdict;
  std::string domain;  // d=, when readable
  std::string selector;
  std::string algorithm;
  std::string b_prefix;
};

// Every DKIM-Signature of `message`, from the top, up to `max_signatures` (further ones are not
// checked: each costs a DNS lookup and a pass over the body). Each signature's key is asked for
// at `selector._domainkey.domain` (TXT): no such record is permerror, no answer temperror.
net::awaitable<std::vector<DkimCheck>> check_dkim(dns::SharedResolver& dns, std::string_view message, std::int64_t now,
                                                  unsigned max_signatures);

// The resinfo of one check: "dkim=pass header.d=... header.s=... header.a=... header.b=...";
// a message without signatures gets "dkim=none".
std::vector<MethodResult> dkim_results(const std::vector<DkimCheck>& checks);

// iprev (RFC 8601 §3): the client address's PTR names, each looked up forward; a name whose
// addresses include the client's is its forward-confirmed name.
struct IprevCheck {
  std::string result;  // pass, fail (names, none pointing back), permerror (no PTR), temperror
  std::string name;    // the confirmed name, on pass
};
constexpr std::size_t kMaxPtrNames = 10;
net::awaitable<IprevCheck> check_iprev(dns::SharedResolver& dns, const net::asio::ip::address& client);
// "iprev=pass (mail.example.org) policy.iprev=192.0.2.7".
MethodResult iprev_result(const IprevCheck& check, const net::asio::ip::address& client);

// DNS lists of the client's address (RFC 5782): the score of the lists it is on, and the text
// of the first blocking list that lists it.
struct DnsListCheck {
  int score = 0;
  std::vector<std::string> listed_on;  // zones, in the order configured
  std::string zone;                    // the first blocking (weight > 0) zone that lists it
  std::string text;                    // its TXT record, when it has one
};

// RFC 5782 §2.1: the address's reversed labels ("2.0.0.127" for 127.0.0.2; IPv6 by nibbles).
std::string reversed_address(const net::asio::ip::address& client);
// §2.3: an A answer in 127.0.0.0/8 lists the address, except 127.0.0.1 (never a listing) and
// 127.255.255.0/24, which lists use to say "not answered" (a public resolver, a quota).
bool is_listing(const dns::Answer& answer);

net::awaitable<DnsListCheck> check_dns_lists(dns::SharedResolver& dns, const net::asio::ip::address& client,
                                             const std::vector<config::DnsList>& lists);

// DMARC of one author domain (a domain of the From field).
struct DmarcCheck {
  std::string domain;  // the author domain, A-labels
  dmarc::Verdict verdict;
};

// §6.6: each distinct domain of the From field (at most kMaxAuthorDomains) against its policy
// record, found at `_dmarc.domain` or at its organisational domain's; a domain without one
// gives result none. `roll` in [0, 100) samples pct=.
constexpr std::size_t kMaxAuthorDomains = 5;
net::awaitable<std::vector<DmarcCheck>> check_dmarc(dns::SharedResolver& dns, std::string_view message,
                                                    const std::optional<SpfCheck>& spf,
                                                    const std::vector<DkimCheck>& dkim, unsigned roll);

// "dmarc=fail (p=reject dis=reject) header.from=example.org".
std::vector<MethodResult> dmarc_results(const std::vector<DmarcCheck>& checks);

}  // namespace mailstead::smtp
