#include "smtpd/inbound_checks.hpp"

#include <fmt/format.h>

#include "common/text/ascii.hpp"

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
