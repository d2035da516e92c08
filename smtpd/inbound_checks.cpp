#include "smtpd/inbound_checks.hpp"

#include <fmt/format.h>

#include <cstring>
#include <ctime>

#include "common/mime/mime.hpp"
#include "common/net/address.hpp"
#include "common/text/ascii.hpp"
#include "common/text/idn.hpp"
#include "smtpd/message_edit.hpp"

namespace mailstead::smtp {
namespace {

// RFC 6008 §4: eight characters of b= tell signatures of one message apart.
constexpr std::size_t kBPrefix = 8;

std::string tag(const dkim::Tags& tags, std::string_view name) {
  for (const auto& [n, v] : tags)
    if (n == name) return v;
  return {};
}

std::string b_prefix(const dkim::Tags& tags) {
  std::string out;
  for (char c : tag(tags, "b")) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
    out += c;
    if (out.size() == kBPrefix) break;
  }
  return out;
}

}  // namespace

net::awaitable<SpfCheck> check_spf(dns::SharedResolver& dns, const net::asio::ip::address& client, const Mail& mail,
                                   const std::string& helo, const std::string& hostname,
                                   std::chrono::seconds max_time) {
  SpfCheck out;
  spf::Query query;
  auto address = net::canonical(client);  // an IPv4-mapped client is its IPv4 address (§4.1)
  if (address.is_v4()) {
    auto b = address.to_v4().to_bytes();
    query.ip.assign(reinterpret_cast<const char*>(b.data()), b.size());
  } else {
    auto b = address.to_v6().to_bytes();
    query.ip.assign(reinterpret_cast<const char*>(b.data()), b.size());
  }
  out.helo = !mail.sender;
  std::string domain = mail.sender ? mail.sender->domain : helo;
  auto ascii = text::domain_to_ascii(domain);
  out.domain = ascii ? *ascii : domain;
  query.domain = out.domain;
  // §4.3: a null sender is checked as postmaster@ the HELO name.
  query.sender = mail.sender ? fmt::format("{}@{}", mail.sender->local, out.domain) : "postmaster@" + out.domain;
  query.helo = helo;
  query.receiver = hostname;
  query.now = std::time(nullptr);
  spf::Lookup lookup = [&dns](std::string name, dns::Type type) -> net::awaitable<dns::Answer> {
    auto answer = co_await dns.query(std::move(name), type);
    co_return answer;
  };
  spf::Limits limits{10, 2, max_time};
  out.outcome = co_await spf::check_host(lookup, std::move(query), limits);
  co_return out;
}

MethodResult spf_result(const SpfCheck& check) {
  MethodResult r{"spf", std::string(spf::to_string(check.outcome.result)), check.outcome.reason, {}};
  r.properties.emplace_back(check.helo ? "smtp.helo" : "smtp.mailfrom", check.domain);
  return r;
}

net::awaitable<std::vector<DkimCheck>> check_dkim(dns::SharedResolver& dns, std::string_view message, std::int64_t now,
                                                  unsigned max_signatures) {
  std::vector<DkimCheck> out;
  dkim::Message parsed(message);
  // Read every signature first, then ask for all their keys at once: a slow DNS server costs
  // one lookup's time, not one per signature.
  struct Pending {
    std::size_t check;
    std::size_t field;
    dkim::Signature signature;
  };
  std::vector<Pending> pending;
  std::vector<dns::SharedResolver::Question> questions;
  for (std::size_t i = 0; i < parsed.fields.size() && out.size() < max_signatures; ++i) {
    const auto& field = parsed.fields[i];
    if (!text::iequals_ascii(field.name, "dkim-signature")) continue;
    DkimCheck check;
    auto colon = field.raw.find(':');
    if (auto tags = dkim::parse_tags(field.raw.substr(colon + 1))) {
      check.domain = text::lower_ascii(tag(*tags, "d"));
      check.selector = tag(*tags, "s");
      check.algorithm = text::lower_ascii(tag(*tags, "a"));
      check.b_prefix = b_prefix(*tags);
    }
    auto signature = dkim::parse_signature(field.raw);
    if (auto* why = std::get_if<std::string>(&signature)) {
      check.verdict = {dkim::Result::permerror, *why};
    } else {
      auto& sig = std::get<dkim::Signature>(signature);
      questions.push_back({fmt::format("{}._domainkey.{}", sig.selector, sig.domain), dns::Type::txt});
      pending.push_back({out.size(), i, std::move(sig)});
    }
    out.push_back(std::move(check));
  }
  if (questions.empty()) co_return out;
  auto answers = co_await dns.query_all(std::move(questions));
  for (std::size_t k = 0; k < pending.size(); ++k) {
    auto& check = out[pending[k].check];
    auto& answer = answers[k];
    if (answer.status == dns::Status::temporary) {
      check.verdict = {dkim::Result::temperror, fmt::format("key lookup: {}", answer.error)};
    } else if (answer.status != dns::Status::ok) {
      check.verdict = {dkim::Result::permerror, "no key for signature"};  // §6.1.2
    } else {
      std::vector<std::string> texts;
      for (auto& r : answer.records) texts.push_back(std::move(r.data));
      auto key = dkim::choose_key(texts);
      if (auto* verdict = std::get_if<dkim::Verdict>(&key))
        check.verdict = *verdict;
      else
        check.verdict =
            dkim::verify(parsed, pending[k].field, pending[k].signature, std::get<dkim::KeyRecord>(key), now);
    }
  }
  co_return out;
}

namespace {

// §6.6.3 steps 1-3: the one DMARC record among a name's TXT records. nullopt: none (zero, or
// more than one, or none that reads).
std::optional<dmarc::Record> one_record(const dns::Answer& answer) {
  std::vector<std::string_view> found;
  for (const auto& r : answer.records)
    if (dmarc::is_dmarc_record(r.data)) found.push_back(r.data);
  if (found.size() != 1) return std::nullopt;
  auto parsed = dmarc::parse_record(found[0]);
  if (auto* record = std::get_if<dmarc::Record>(&parsed)) return *record;
  return std::nullopt;
}

}  // namespace

net::awaitable<std::vector<DmarcCheck>> check_dmarc(dns::SharedResolver& dns, std::string_view message,
                                                    const std::optional<SpfCheck>& spf,
                                                    const std::vector<DkimCheck>& dkim, unsigned roll) {
  dmarc::Evidence evidence;
  if (spf && spf->outcome.result == spf::Result::pass) {
    evidence.spf_pass = true;
    evidence.spf_domain = spf->domain;
  }
  for (const auto& c : dkim)
    if (c.verdict.result == dkim::Result::pass) evidence.dkim_domains.push_back(c.domain);
  std::vector<DmarcCheck> out;
  auto domains = author_domains(message, kMaxAuthorDomains);
  // Every author domain's record at once, then the organisational domains' where needed.
  std::vector<dns::SharedResolver::Question> questions;
  for (const auto& d : domains) questions.push_back({"_dmarc." + d, dns::Type::txt});
  auto answers = co_await dns.query_all(std::move(questions));
  for (std::size_t i = 0; i < domains.size(); ++i) {
    DmarcCheck check{domains[i], {}};
    std::string record_domain = domains[i];
    auto answer = std::move(answers[i]);
    auto record = answer.status == dns::Status::ok ? one_record(answer) : std::nullopt;
    if (!record && answer.status != dns::Status::temporary) {
      auto org = dmarc::organizational_domain(domains[i]);
      if (org != domains[i]) {
        record_domain = org;
        answer = co_await dns.query("_dmarc." + org, dns::Type::txt);
        record = answer.status == dns::Status::ok ? one_record(answer) : std::nullopt;
      }
    }
    if (answer.status == dns::Status::temporary) {
      check.verdict.result = dmarc::Result::temperror;
      check.verdict.reason = fmt::format("policy lookup: {}", answer.error);
    } else if (!record) {
      check.verdict.result = dmarc::Result::none;
      check.verdict.reason = "no DMARC record";
    } else {
      check.verdict = dmarc::evaluate(domains[i], record_domain, *record, evidence, roll);
    }
    out.push_back(std::move(check));
  }
  co_return out;
}

std::string reversed_address(const net::asio::ip::address& client) {
  auto address = net::canonical(client);
  std::string bytes;
  if (address.is_v4()) {
    auto b = address.to_v4().to_bytes();
    bytes.assign(reinterpret_cast<const char*>(b.data()), b.size());
  } else {
    auto b = address.to_v6().to_bytes();
    bytes.assign(reinterpret_cast<const char*>(b.data()), b.size());
  }
  auto name = dns::reverse_name(bytes);
  return name.substr(0, name.rfind(address.is_v4() ? ".in-addr.arpa" : ".ip6.arpa"));
}

net::awaitable<IprevCheck> check_iprev(dns::SharedResolver& dns, const net::asio::ip::address& client) {
  IprevCheck out;
  auto address = net::canonical(client);
  auto ptr =
      co_await dns.query(reversed_address(address) + (address.is_v4() ? ".in-addr.arpa" : ".ip6.arpa"), dns::Type::ptr);
  if (ptr.status == dns::Status::temporary) {
    out.result = "temperror";
    co_return out;
  }
  if (ptr.records.empty()) {
    out.result = "permerror";
    co_return out;
  }
  std::vector<dns::SharedResolver::Question> questions;
  for (const auto& r : ptr.records) {
    if (questions.size() == kMaxPtrNames) break;
    questions.push_back({r.data, address.is_v4() ? dns::Type::a : dns::Type::aaaa});
  }
  auto names = questions;
  auto answers = co_await dns.query_all(std::move(questions));
  bool temporary = false;
  for (std::size_t i = 0; i < answers.size(); ++i) {
    temporary = temporary || answers[i].status == dns::Status::temporary;
    for (const auto& r : answers[i].records) {
      bool same = address.is_v4()
                      ? r.data.size() == 4 && std::memcmp(r.data.data(), address.to_v4().to_bytes().data(), 4) == 0
                      : r.data.size() == 16 && std::memcmp(r.data.data(), address.to_v6().to_bytes().data(), 16) == 0;
      if (same) {
        out.result = "pass";
        out.name = names[i].name;
        co_return out;
      }
    }
  }
  out.result = temporary ? "temperror" : "fail";
  co_return out;
}

MethodResult iprev_result(const IprevCheck& check, const net::asio::ip::address& client) {
  MethodResult r{"iprev", check.result, check.name, {}};
  r.properties.emplace_back("policy.iprev", net::canonical(client).to_string());  // RFC 8601 §2.7.3
  return r;
}

bool is_listing(const dns::Answer& answer) {
  for (const auto& r : answer.records) {
    if (r.data.size() != 4) continue;
    auto b = [&](int i) { return static_cast<unsigned char>(r.data[i]); };
    if (b(0) != 127) continue;
    if (b(1) == 255 && b(2) == 255) continue;
    if (b(1) == 0 && b(2) == 0 && b(3) == 1) continue;
    return true;
  }
  return false;
}

net::awaitable<DnsListCheck> check_dns_lists(dns::SharedResolver& dns, const net::asio::ip::address& client,
                                             const std::vector<config::DnsList>& lists) {
  DnsListCheck out;
  auto reversed = reversed_address(client);
  std::vector<dns::SharedResolver::Question> questions;
  for (const auto& l : lists) questions.push_back({reversed + "." + l.zone, dns::Type::a});
  auto answers = co_await dns.query_all(std::move(questions));
  for (std::size_t i = 0; i < lists.size(); ++i) {
    if (!is_listing(answers[i])) continue;
    out.score += lists[i].weight;
    out.listed_on.push_back(lists[i].zone);
    if (lists[i].weight > 0 && out.zone.empty()) out.zone = lists[i].zone;
  }
  if (!out.zone.empty()) {  // §2.2: the TXT record says why, often with a URL
    auto txt = co_await dns.query(reversed + "." + out.zone, dns::Type::txt);
    if (!txt.records.empty()) {
      for (char c : txt.records.front().data.substr(0, 200))
        if (static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7F) out.text += c;
    }
  }
  co_return out;
}

std::vector<MethodResult> dmarc_results(const std::vector<DmarcCheck>& checks) {
  std::vector<MethodResult> out;
  for (const auto& c : checks) {
    const auto& v = c.verdict;
    std::string reason = v.result == dmarc::Result::pass || v.result == dmarc::Result::fail
                             ? fmt::format("p={} dis={}", dmarc::to_string(v.policy), dmarc::to_string(v.disposition))
                             : v.reason;
    out.push_back({"dmarc", std::string(dmarc::to_string(v.result)), reason, {{"header.from", c.domain}}});
  }
  return out;
}

std::vector<MethodResult> dkim_results(const std::vector<DkimCheck>& checks) {
  std::vector<MethodResult> out;
  if (checks.empty()) {
    out.push_back({"dkim", "none", "", {}});
    return out;
  }
  for (const auto& c : checks) {
    MethodResult r{"dkim", std::string(dkim::to_string(c.verdict.result)), c.verdict.reason, {}};
    if (!c.domain.empty()) r.properties.emplace_back("header.d", c.domain);
    if (!c.selector.empty()) r.properties.emplace_back("header.s", c.selector);
    if (!c.algorithm.empty()) r.properties.emplace_back("header.a", c.algorithm);
    if (!c.b_prefix.empty()) r.properties.emplace_back("header.b", c.b_prefix);
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace mailstead::smtp
