// DMARC (RFC 7489): records, organisational domains from the Public Suffix List, alignment,
// and verdicts with their policies.
#include "common/dmarc/dmarc.hpp"

#include <gtest/gtest.h>

namespace mailstead::dmarc {
namespace {

Record parsed(std::string_view txt) {
  auto r = parse_record(txt);
  EXPECT_TRUE(std::holds_alternative<Record>(r)) << txt << ": " << std::get<std::string>(r);
  return std::holds_alternative<Record>(r) ? std::get<Record>(r) : Record{};
}

TEST(DmarcRecord, ReadsItsTags) {
  auto r = parsed(
      "v=DMARC1; p=reject; sp=quarantine; adkim=s; aspf=r; pct=25; "
      "rua=mailto:dmarc@example.org,mailto:agg@example.net; ruf=mailto:f@example.org; fo=1");
  EXPECT_EQ(r.policy, Policy::reject);
  EXPECT_EQ(r.subdomain_policy, Policy::quarantine);
  EXPECT_TRUE(r.strict_dkim);
  EXPECT_FALSE(r.strict_spf);
  EXPECT_EQ(r.percent, 25u);
  EXPECT_EQ(r.aggregate_reports, (std::vector<std::string>{"mailto:dmarc@example.org", "mailto:agg@example.net"}));
  EXPECT_EQ(parsed("v=DMARC1;p=none").policy, Policy::none);
  EXPECT_EQ(parsed(" v = DMARC1 ; p = quarantine ; ").policy, Policy::quarantine);
}

TEST(DmarcRecord, WhatIsNotAPolicy) {
  EXPECT_FALSE(is_dmarc_record("v=spf1 -all"));
  EXPECT_FALSE(is_dmarc_record("p=reject; v=DMARC1"));  // §6.4: v= first
  EXPECT_FALSE(is_dmarc_record("v=DMARC2; p=reject"));
  EXPECT_TRUE(std::holds_alternative<std::string>(parse_record("v=DMARC1")));
  EXPECT_TRUE(std::holds_alternative<std::string>(parse_record("v=DMARC1; p=bounce")));
  // §6.6.3: an invalid p= with a valid rua= is p=none.
  EXPECT_EQ(parsed("v=DMARC1; p=bounce; rua=mailto:d@example.org").policy, Policy::none);
  // An out-of-range pct= is ignored (100).
  EXPECT_EQ(parsed("v=DMARC1; p=reject; pct=250").percent, 100u);
}

TEST(DmarcDomains, OrganisationalDomainsComeFromThePublicSuffixList) {
  EXPECT_EQ(organizational_domain("mail.example.com"), "example.com");
  EXPECT_EQ(organizational_domain("a.b.example.co.uk"), "example.co.uk");
  EXPECT_EQ(organizational_domain("Example.COM."), "example.com");
  EXPECT_EQ(organizational_domain("foo.github.io"), "foo.github.io");  // a private suffix
  EXPECT_TRUE(aligned("mail.example.com", "example.com", false));
  EXPECT_FALSE(aligned("mail.example.com", "example.com", true));
  EXPECT_TRUE(aligned("EXAMPLE.com", "example.COM", true));
  EXPECT_FALSE(aligned("example.co.uk", "other.co.uk", false));
  EXPECT_FALSE(aligned("a.github.io", "b.github.io", false));
}

TEST(DmarcVerdict, AlignedSpfOrDkimPasses) {
  auto reject = parsed("v=DMARC1; p=reject");
  Evidence dkim{false, "", {"mail.example.com"}};
  auto v = evaluate("example.com", "example.com", reject, dkim, 0);
  EXPECT_EQ(v.result, Result::pass);
  EXPECT_EQ(v.disposition, Policy::none);
  Evidence spf{true, "bounces.example.com", {}};
  EXPECT_EQ(evaluate("example.com", "example.com", reject, spf, 0).result, Result::pass);
  // Strict alignment wants the same name.
  auto strict = parsed("v=DMARC1; p=reject; adkim=s; aspf=s");
  EXPECT_EQ(evaluate("example.com", "example.com", strict, dkim, 0).result, Result::fail);
  EXPECT_EQ(evaluate("example.com", "example.com", strict, spf, 0).result, Result::fail);
  // A pass for another domain is no pass for this one.
  Evidence other{true, "evil.example", {"evil.example"}};
  auto failed = evaluate("example.com", "example.com", reject, other, 0);
  EXPECT_EQ(failed.result, Result::fail);
  EXPECT_EQ(failed.disposition, Policy::reject);
}

TEST(DmarcVerdict, SubdomainPolicyAndSampling) {
  auto r = parsed("v=DMARC1; p=reject; sp=quarantine; pct=50");
  Evidence nothing;
  // Found at the organisational domain for a subdomain: sp= applies.
  auto sub = evaluate("news.example.com", "example.com", r, nothing, 10);
  EXPECT_EQ(sub.policy, Policy::quarantine);
  EXPECT_EQ(sub.disposition, Policy::quarantine);
  // §6.6.4: a message outside the pct= sample gets the next lesser policy.
  EXPECT_EQ(evaluate("example.com", "example.com", r, nothing, 49).disposition, Policy::reject);
  EXPECT_EQ(evaluate("example.com", "example.com", r, nothing, 50).disposition, Policy::quarantine);
  EXPECT_EQ(evaluate("news.example.com", "example.com", r, nothing, 50).disposition, Policy::none);
}

}  // namespace
}  // namespace mailstead::dmarc
