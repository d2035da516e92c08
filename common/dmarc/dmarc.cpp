#include "common/dmarc/dmarc.hpp"

#include <fmt/format.h>
#include <libpsl.h>

#include <algorithm>
#include <charconv>

#include "common/text/ascii.hpp"

namespace mailstead::dmarc {
namespace {

constexpr auto trim = text::trim_fws;

std::optional<Policy> parse_policy(std::string_view v) {
  if (text::iequals_ascii(v, "none")) return Policy::none;
  if (text::iequals_ascii(v, "quarantine")) return Policy::quarantine;
  if (text::iequals_ascii(v, "reject")) return Policy::reject;
  return std::nullopt;
}

// The list, read once: Debian's copy (publicsuffix) when it is there, else libpsl's own.
const psl_ctx_t* suffix_list() {
  static const psl_ctx_t* list = [] {
    const psl_ctx_t* latest = psl_latest(nullptr);
    return latest ? latest : psl_builtin();
  }();
  return list;
}

Policy lesser(Policy p) {
  return p == Policy::reject ? Policy::quarantine : Policy::none;
}

}  // namespace

std::string_view to_string(Policy policy) {
  switch (policy) {
    case Policy::none:
      return "none";
    case Policy::quarantine:
      return "quarantine";
    case Policy::reject:
      return "reject";
  }
  return "none";
}

std::string_view to_string(Result result) {
  switch (result) {
    case Result::none:
      return "none";
    case Result::pass:
      return "pass";
    case Result::fail:
      return "fail";
    case Result::temperror:
      return "temperror";
    case Result::permerror:
      return "permerror";
  }
  return "none";
}

bool is_dmarc_record(std::string_view txt) {
  auto semi = txt.find(';');
  auto first = trim(txt.substr(0, semi));
  auto eq = first.find('=');
  if (eq == std::string_view::npos) return false;
  return trim(first.substr(0, eq)) == "v" && trim(first.substr(eq + 1)) == "DMARC1";
}

std::variant<Record, std::string> parse_record(std::string_view txt) {
  if (!is_dmarc_record(txt)) return std::string("not a DMARC record");
  Record record;
  std::optional<Policy> policy;
  bool policy_seen = false;
  while (!txt.empty()) {
    auto semi = txt.find(';');
    auto spec = trim(txt.substr(0, semi));
    txt = semi == std::string_view::npos ? std::string_view{} : txt.substr(semi + 1);
    if (spec.empty()) continue;
    auto eq = spec.find('=');
    if (eq == std::string_view::npos) return fmt::format("malformed tag \"{}\"", spec);
    auto name = text::lower_ascii(trim(spec.substr(0, eq)));
    auto value = trim(spec.substr(eq + 1));
    if (name == "p") {
      policy_seen = true;
      policy = parse_policy(value);
    } else if (name == "sp") {
      record.subdomain_policy = parse_policy(value);  // invalid: as if absent
    } else if (name == "adkim") {
      record.strict_dkim = text::iequals_ascii(value, "s");
    } else if (name == "aspf") {
      record.strict_spf = text::iequals_ascii(value, "s");
    } else if (name == "pct") {
      unsigned v = 100;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
      if (ec == std::errc{} && end == value.data() + value.size() && v <= 100) record.percent = v;
    } else if (name == "rua") {
      std::string_view list = value;
      while (!list.empty() && record.aggregate_reports.size() < 8) {
        auto comma = list.find(',');
        auto uri = trim(list.substr(0, comma));
        if (!uri.empty()) record.aggregate_reports.emplace_back(uri);
        list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
      }
    }  // ruf, fo, rf, ri and unknown tags: not used here
  }
  if (!policy) {
    // §6.6.3: without a valid p=, a record with a rua= is p=none; otherwise it is no record.
    if (record.aggregate_reports.empty()) return std::string(policy_seen ? "invalid p= tag" : "no p= tag");
    policy = Policy::none;
  }
  record.policy = *policy;
  return record;
}

std::string organizational_domain(std::string_view domain) {
  auto lower = text::lower_ascii(domain);
  if (!lower.empty() && lower.back() == '.') lower.pop_back();
  const char* registrable = psl_registrable_domain(suffix_list(), lower.c_str());
  return registrable ? std::string(registrable) : lower;
}

bool aligned(std::string_view a, std::string_view b, bool strict) {
  if (strict) return text::iequals_ascii(a, b);
  return organizational_domain(a) == organizational_domain(b);
}

Verdict evaluate(std::string_view author_domain, std::string_view record_domain, const Record& record,
                 const Evidence& evidence, unsigned roll) {
  Verdict v;
  // §6.6.3: sp= applies when the record was found at the organisational domain for a
  // subdomain of it.
  bool subdomain = !text::iequals_ascii(author_domain, record_domain);
  v.policy = subdomain && record.subdomain_policy ? *record.subdomain_policy : record.policy;
  bool dkim = std::any_of(evidence.dkim_domains.begin(), evidence.dkim_domains.end(),
                          [&](const std::string& d) { return aligned(d, author_domain, record.strict_dkim); });
  bool spf = evidence.spf_pass && aligned(evidence.spf_domain, author_domain, record.strict_spf);
  if (dkim || spf) {
    v.result = Result::pass;
    v.reason = dkim ? "aligned DKIM" : "aligned SPF";
    return v;
  }
  v.result = Result::fail;
  v.reason = "no aligned SPF or DKIM pass";
  // §6.6.4: pct= samples the messages the policy applies to; the rest get the lesser one.
  v.disposition = roll < record.percent ? v.policy : lesser(v.policy);
  return v;
}

}  // namespace mailstead::dmarc
