// SPF (RFC 7208): records, macros (§7.4's examples), and check_host() against a table of DNS
// answers, for every result and every limit.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <map>

#include "common/spf/check.hpp"
#include "common/spf/record.hpp"

namespace mailstead::spf {
namespace {

std::string ip(const char* text) {
  unsigned char bytes[16];
  if (inet_pton(AF_INET, text, bytes) == 1) return std::string(reinterpret_cast<char*>(bytes), 4);
  EXPECT_EQ(inet_pton(AF_INET6, text, bytes), 1) << text;
  return std::string(reinterpret_cast<char*>(bytes), 16);
}

// §7.4: the examples, with <sender> strong-bad@email.example.com.
TEST(SpfMacro, Rfc7208Examples) {
  MacroContext c{"strong-bad@email.example.com", "email.example.com", ip("192.0.2.3"), "mx.example.org", "", 0, ""};
  auto x = [&](const char* s) { return expand(s, c).value_or("<invalid>"); };
  EXPECT_EQ(x("%{s}"), "strong-bad@email.example.com");
  EXPECT_EQ(x("%{o}"), "email.example.com");
  EXPECT_EQ(x("%{d}"), "email.example.com");
  EXPECT_EQ(x("%{d4}"), "email.example.com");
  EXPECT_EQ(x("%{d3}"), "email.example.com");
  EXPECT_EQ(x("%{d2}"), "example.com");
  EXPECT_EQ(x("%{d1}"), "com");
  EXPECT_EQ(x("%{dr}"), "com.example.email");
  EXPECT_EQ(x("%{d2r}"), "example.email");
  EXPECT_EQ(x("%{l}"), "strong-bad");
  EXPECT_EQ(x("%{l-}"), "strong.bad");
  EXPECT_EQ(x("%{lr}"), "strong-bad");
  EXPECT_EQ(x("%{lr-}"), "bad.strong");
  EXPECT_EQ(x("%{l1r-}"), "strong");
  EXPECT_EQ(x("%{ir}.%{v}._spf.%{d2}"), "3.2.0.192.in-addr._spf.example.com");
  EXPECT_EQ(x("%{lr-}.lp._spf.%{d2}"), "bad.strong.lp._spf.example.com");
  EXPECT_EQ(x("%{lr-}.lp.%{ir}.%{v}._spf.%{d2}"), "bad.strong.lp.3.2.0.192.in-addr._spf.example.com");
  EXPECT_EQ(x("%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}"), "3.2.0.192.in-addr.strong.lp._spf.example.com");
  EXPECT_EQ(x("%{d2}.trusted-domains.example.net"), "example.com.trusted-domains.example.net");
  c.ip = ip("2001:db8::cb01");
  EXPECT_EQ(x("%{ir}.%{v}._spf.%{d2}"),
            "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com");
  EXPECT_EQ(x("%{h} %%%_%-"), "<invalid>");  // a space outside an explanation
  EXPECT_EQ(expand("%{h} %%%_%-", c, true), "mx.example.org % %20");
  EXPECT_EQ(x("%{S}"), "strong-bad%40email.example.com");  // uppercase: URL-escaped
  EXPECT_EQ(x("%{c}"), "<invalid>");                       // c, r, t only in explanations
  EXPECT_EQ(expand("%{c}", c, true), "2001:db8::cb01");
  EXPECT_EQ(x("%{d0}"), "<invalid>");
  EXPECT_EQ(x("%{x}"), "<invalid>");
  EXPECT_EQ(x("%{d"), "<invalid>");
  EXPECT_EQ(x("%a"), "<invalid>");
}

TEST(SpfRecord, ParsesEveryMechanismAndModifier) {
  auto parsed = parse_record(
      "v=spf1 +a -mx:mail.example.com/24 ~ptr ?ip4:192.0.2.0/24 ip6:2001:db8::/32 a//64 a:x.example/28//48 "
      "include:_spf.example.net exists:%{ir}.list.example all redirect=_spf.example.com exp=why.example.com "
      "unknown-modifier=anything");
  ASSERT_TRUE(std::holds_alternative<Record>(parsed)) << std::get<std::string>(parsed);
  const auto& r = std::get<Record>(parsed);
  ASSERT_EQ(r.directives.size(), 10u);
  EXPECT_EQ(r.directives[1].qualifier, Qualifier::fail);
  EXPECT_EQ(r.directives[1].mechanism, Mechanism::mx);
  EXPECT_EQ(r.directives[1].domain_spec, "mail.example.com");
  EXPECT_EQ(r.directives[1].cidr4, 24u);
  EXPECT_EQ(r.directives[3].address, ip("192.0.2.0"));
  EXPECT_EQ(r.directives[4].cidr6, 32u);
  EXPECT_EQ(r.directives[5].cidr4, 32u);
  EXPECT_EQ(r.directives[5].cidr6, 64u);
  EXPECT_EQ(r.directives[6].cidr4, 28u);
  EXPECT_EQ(r.directives[6].cidr6, 48u);
  EXPECT_EQ(r.redirect, "_spf.example.com");
  EXPECT_EQ(r.exp, "why.example.com");
}

TEST(SpfRecord, RefusesWhatTheGrammarDoesNot) {
  for (const char* bad :
       {"v=spf1 foo", "v=spf1 ip4:192.0.2.300", "v=spf1 ip4:192.0.2.0/33", "v=spf1 ip6:2001:db8::/129", "v=spf1 a/01",
        "v=spf1 all:example.com", "v=spf1 include", "v=spf1 redirect=a.example redirect=b.example",
        "v=spf1 exp=a.example exp=b.example", "v=spf1 include:%{z}.example", "v=spf1 1mod=x"}) {
    EXPECT_TRUE(std::holds_alternative<std::string>(parse_record(bad))) << bad;
  }
  EXPECT_TRUE(is_spf_record("v=spf1"));
  EXPECT_TRUE(is_spf_record("V=SPF1 -all"));
  EXPECT_FALSE(is_spf_record("v=spf10 -all"));
  EXPECT_FALSE(is_spf_record("v=DKIM1; p="));
}

// A zone of answers; whatever it lacks is NXDOMAIN. Every question is counted.
struct Zone {
  std::map<std::pair<std::string, dns::Type>, dns::Answer> answers;
  std::vector<std::pair<std::string, dns::Type>> asked;

  void txt(const std::string& name, std::vector<std::string> texts) {
    dns::Answer a{dns::Status::ok, {}, ""};
    for (auto& t : texts) a.records.push_back({name, dns::Type::txt, 60, std::move(t), 0});
    answers[{name, dns::Type::txt}] = a;
  }
  void address(const std::string& name, std::vector<const char*> addresses) {
    for (auto* text : addresses) {
      auto bytes = ip(text);
      auto type = bytes.size() == 4 ? dns::Type::a : dns::Type::aaaa;
      auto& a = answers[{name, type}];
      a.status = dns::Status::ok;
      a.records.push_back({name, type, 60, bytes, 0});
    }
  }
  void mx(const std::string& name, std::vector<std::string> hosts) {
    dns::Answer a{dns::Status::ok, {}, ""};
    for (auto& h : hosts) a.records.push_back({name, dns::Type::mx, 60, h, 10});
    answers[{name, dns::Type::mx}] = a;
  }
  void ptr(const std::string& reverse, std::vector<std::string> names) {
    dns::Answer a{dns::Status::ok, {}, ""};
    for (auto& n : names) a.records.push_back({reverse, dns::Type::ptr, 60, n, 0});
    answers[{reverse, dns::Type::ptr}] = a;
  }
  void fail(const std::string& name, dns::Type type) {
    answers[{name, type}] = {dns::Status::temporary, {}, "SERVFAIL"};
  }

  Outcome check(const char* client, const std::string& domain, std::string sender = "") {
    if (sender.empty()) sender = "joe@" + domain;
    net::asio::io_context io;
    Outcome out;
    Lookup lookup = [this](std::string name, dns::Type type) -> net::awaitable<dns::Answer> {
      asked.emplace_back(name, type);
      auto it = answers.find({name, type});
      if (it != answers.end()) co_return it->second;
      bool exists = std::any_of(answers.begin(), answers.end(), [&](const auto& e) { return e.first.first == name; });
      co_return dns::Answer{exists ? dns::Status::no_data : dns::Status::nxdomain, {}, ""};
    };
    net::asio::co_spawn(io, check_host(lookup, {ip(client), domain, sender, "helo.example", "mx.example.test", 1000}),
                        [&](std::exception_ptr e, Outcome o) {
                          if (e) std::rethrow_exception(e);
                          out = std::move(o);
                        });
    io.run();
    return out;
  }
};

TEST(SpfCheck, EveryResult) {
  Zone z;
  z.txt("pass.example", {"v=spf1 ip4:192.0.2.0/24 -all"});
  z.txt("fail.example", {"v=spf1 -all"});
  z.txt("soft.example", {"v=spf1 ~all"});
  z.txt("neutral.example", {"v=spf1 ?all"});
  z.txt("nomatch.example", {"v=spf1 ip4:198.51.100.1"});
  z.txt("none.example", {"some other text"});
  z.fail("temp.example", dns::Type::txt);
  z.txt("perm.example", {"v=spf1 frobnicate -all"});
  z.txt("two.example", {"v=spf1 -all", "v=spf1 +all"});
  EXPECT_EQ(z.check("192.0.2.7", "pass.example").result, Result::pass);
  EXPECT_EQ(z.check("203.0.113.7", "pass.example").result, Result::fail);
  EXPECT_EQ(z.check("192.0.2.7", "fail.example").result, Result::fail);
  EXPECT_EQ(z.check("192.0.2.7", "soft.example").result, Result::softfail);
  EXPECT_EQ(z.check("192.0.2.7", "neutral.example").result, Result::neutral);
  EXPECT_EQ(z.check("192.0.2.7", "nomatch.example").result, Result::neutral);  // §4.7: the default
  EXPECT_EQ(z.check("192.0.2.7", "none.example").result, Result::none);
  EXPECT_EQ(z.check("192.0.2.7", "nowhere.example").result, Result::none);
  EXPECT_EQ(z.check("192.0.2.7", "temp.example").result, Result::temperror);
  EXPECT_EQ(z.check("192.0.2.7", "perm.example").result, Result::permerror);
  EXPECT_EQ(z.check("192.0.2.7", "two.example").result, Result::permerror);  // §4.5
}

TEST(SpfCheck, AddressMechanismsWithCidrLengths) {
  Zone z;
  z.txt("example.com", {"v=spf1 a/24 mx:mx.example.com//64 -all"});
  z.address("example.com", {"192.0.2.10"});
  z.mx("mx.example.com", {"mail1.example.com", "mail2.example.com"});
  z.address("mail2.example.com", {"2001:db8:1::25"});
  EXPECT_EQ(z.check("192.0.2.200", "example.com").result, Result::pass);     // a/24
  EXPECT_EQ(z.check("2001:db8:1::99", "example.com").result, Result::pass);  // mx //64, second host
  EXPECT_EQ(z.check("2001:db8:2::25", "example.com").result, Result::fail);
  EXPECT_EQ(z.check("198.51.100.1", "example.com").result, Result::fail);
}

TEST(SpfCheck, IncludeRedirectAndTheirResults) {
  Zone z;
  z.txt("example.com", {"v=spf1 include:_spf.provider.example ~all"});
  z.txt("_spf.provider.example", {"v=spf1 ip4:203.0.113.0/24 -all"});
  z.txt("redirected.example", {"v=spf1 redirect=example.com"});
  z.txt("broken-include.example", {"v=spf1 include:nothing.example -all"});
  z.txt("broken-redirect.example", {"v=spf1 redirect=nothing.example"});
  EXPECT_EQ(z.check("203.0.113.5", "example.com").result, Result::pass);
  // §5.2: the include's fail is no match here: the outer ~all decides.
  EXPECT_EQ(z.check("192.0.2.1", "example.com").result, Result::softfail);
  EXPECT_EQ(z.check("203.0.113.5", "redirected.example").result, Result::pass);
  EXPECT_EQ(z.check("192.0.2.1", "redirected.example").result, Result::softfail);
  // §5.2: an include of a domain without a record is a permerror; §6.1: likewise a redirect.
  EXPECT_EQ(z.check("192.0.2.1", "broken-include.example").result, Result::permerror);
  EXPECT_EQ(z.check("192.0.2.1", "broken-redirect.example").result, Result::permerror);
}

TEST(SpfCheck, PtrAndExists) {
  Zone z;
  z.txt("example.com", {"v=spf1 ptr exists:%{ir}.allow.example -all"});
  z.ptr("7.2.0.192.in-addr.arpa", {"mail.example.com"});
  z.address("mail.example.com", {"192.0.2.7"});
  z.ptr("8.2.0.192.in-addr.arpa", {"mail.example.com"});  // names it, but the name does not point back
  z.address("9.2.0.192.allow.example", {"127.0.0.2"});
  EXPECT_EQ(z.check("192.0.2.7", "example.com").result, Result::pass);
  EXPECT_EQ(z.check("192.0.2.8", "example.com").result, Result::fail);
  EXPECT_EQ(z.check("192.0.2.9", "example.com").result, Result::pass);  // exists
}

TEST(SpfCheck, TheLookupLimitsOfSection4_6_4) {
  Zone z;
  // Eleven includes: the eleventh is one too many.
  std::string chain = "v=spf1";
  for (int i = 0; i < 11; ++i) {
    chain += " include:i" + std::to_string(i) + ".example";
    z.txt("i" + std::to_string(i) + ".example", {"v=spf1 ?all"});
  }
  z.txt("many.example", {chain + " -all"});
  auto many = z.check("192.0.2.1", "many.example");
  EXPECT_EQ(many.result, Result::permerror);
  EXPECT_EQ(many.reason, "more than 10 DNS lookups");
  // Ten are fine.
  z.txt("ten.example", {chain.substr(0, chain.find(" include:i10.example")) + " -all"});
  EXPECT_EQ(z.check("192.0.2.1", "ten.example").result, Result::fail);
  // Three void lookups: the third is one too many.
  z.txt("void.example", {"v=spf1 a:v1.example a:v2.example a:v3.example -all"});
  auto voids = z.check("192.0.2.1", "void.example");
  EXPECT_EQ(voids.result, Result::permerror);
  EXPECT_EQ(voids.reason, "more than 2 void DNS lookups");
  // A loop of includes ends at the lookup limit, not in a stack overflow.
  z.txt("loop.example", {"v=spf1 include:loop.example -all"});
  EXPECT_EQ(z.check("192.0.2.1", "loop.example").result, Result::permerror);
  // More than 10 MX names.
  std::vector<std::string> hosts;
  for (int i = 0; i < 11; ++i) hosts.push_back("mx" + std::to_string(i) + ".example");
  z.mx("bigmx.example", hosts);
  z.txt("bigmx.example", {"v=spf1 mx -all"});
  EXPECT_EQ(z.check("192.0.2.1", "bigmx.example").result, Result::permerror);
}

TEST(SpfCheck, DnsTroubleInAMechanismIsATemperror) {
  Zone z;
  z.txt("example.com", {"v=spf1 a:down.example -all"});
  z.fail("down.example", dns::Type::a);
  EXPECT_EQ(z.check("192.0.2.1", "example.com").result, Result::temperror);
}

TEST(SpfCheck, AFailExplainsItselfWithExp) {
  Zone z;
  z.txt("example.com", {"v=spf1 -all exp=why.example.com"});
  z.txt("why.example.com", {"%{i} is not one of %{d}'s designated mail servers."});
  auto out = z.check("192.0.2.1", "example.com");
  EXPECT_EQ(out.result, Result::fail);
  EXPECT_EQ(out.explanation, "192.0.2.1 is not one of example.com's designated mail servers.");
}

}  // namespace
}  // namespace mailstead::spf
