#include "smtpd/inbound_checks.hpp"

#include <fmt/format.h>

#include <ctime>

#include "common/net/address.hpp"
#include "common/text/ascii.hpp"
#include "common/text/idn.hpp"

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
  out.outcome = co_await spf::check_host(lookup, std::move(query), {10, 2, max_time});
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
