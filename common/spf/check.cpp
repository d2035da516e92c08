#include "common/spf/check.hpp"

#include <fmt/format.h>

#include "common/dns/message.hpp"
#include "common/text/ascii.hpp"

namespace mailstead::spf {
namespace {

bool same_network(std::string_view a, std::string_view b, unsigned bits) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size() && bits > 0; ++i) {
    unsigned take = std::min(bits, 8u);
    unsigned mask = (0xFF00u >> take) & 0xFF;
    if ((static_cast<unsigned char>(a[i]) & mask) != (static_cast<unsigned char>(b[i]) & mask)) return false;
    bits -= take;
  }
  return true;
}

bool in_domain(std::string_view name, std::string_view domain) {
  auto n = text::lower_ascii(name), d = text::lower_ascii(domain);
  return n == d || (n.size() > d.size() && n.ends_with(d) && n[n.size() - d.size() - 1] == '.');
}

// Why an evaluation stopped short of a result of its own record.
struct Stop {
  Result result;
  std::string reason;
};

enum class Match { yes, no };

class Evaluator {
 public:
  Evaluator(Lookup lookup, Query query, Limits limits)
      : lookup_(std::move(lookup)),
        q_(std::move(query)),
        limits_(limits),
        deadline_(std::chrono::steady_clock::now() + limits.max_time) {}

  net::awaitable<Outcome> run() {
    auto outcome = co_await evaluate(q_.domain, 0);
    co_return outcome;
  }

 private:
  using Type = dns::Type;
  Type address_type() const { return q_.ip.size() == 4 ? Type::a : Type::aaaa; }

  net::awaitable<dns::Answer> ask(std::string name, Type type) {
    if (std::chrono::steady_clock::now() > deadline_) {
      dns::Answer late{dns::Status::temporary, {}, "the check took too long"};
      co_return late;
    }
    auto answer = co_await lookup_(std::move(name), type);
    co_return answer;
  }

  // §4.6.4: a term that costs a DNS query counts; past the limit the check is a permerror.
  std::optional<Stop> count_lookup() {
    if (++lookups_ > limits_.max_lookups)
      return Stop{Result::permerror, fmt::format("more than {} DNS lookups", limits_.max_lookups)};
    return std::nullopt;
  }
  std::optional<Stop> count_void(const dns::Answer& answer) {
    if (answer.status != dns::Status::nxdomain && answer.status != dns::Status::no_data) return std::nullopt;
    if (++voids_ > limits_.max_void)
      return Stop{Result::permerror, fmt::format("more than {} void DNS lookups", limits_.max_void)};
    return std::nullopt;
  }

  MacroContext macros(const std::string& domain) const {
    return {q_.sender, domain, q_.ip, q_.helo, q_.receiver, q_.now, ""};
  }

  // A domain-spec (empty: the current domain) expanded into a name to ask for.
  std::optional<std::string> target(const std::string& spec, const std::string& domain) const {
    if (spec.empty()) return domain;
    auto expanded = expand(spec, macros(domain));
    if (!expanded) return std::nullopt;
    return target_name(std::move(*expanded));
  }

  // §4.4, §4.5: the domain's one SPF record.
  net::awaitable<std::variant<Record, Outcome>> record_of(const std::string& domain) {
    auto answer = co_await ask(domain, Type::txt);
    if (answer.status == dns::Status::temporary) co_return Outcome{Result::temperror, answer.error, ""};
    std::vector<std::string> spf;
    for (const auto& r : answer.records)
      if (is_spf_record(r.data)) spf.push_back(r.data);
    if (spf.empty()) co_return Outcome{Result::none, fmt::format("no SPF record at {}", domain), ""};
    if (spf.size() > 1)
      co_return Outcome{Result::permerror, fmt::format("{} SPF records at {}", spf.size(), domain), ""};
    auto parsed = parse_record(spf[0]);
    if (auto* why = std::get_if<std::string>(&parsed))
      co_return Outcome{Result::permerror, fmt::format("{}: {}", domain, *why), ""};
    co_return std::get<Record>(std::move(parsed));
  }

  // Whether any address of `name` is the client's, within the CIDR lengths given.
  net::awaitable<std::variant<Match, Stop>> addresses_match(const std::string& name, unsigned bits,
                                                            bool count_as_void) {
    auto answer = co_await ask(name, address_type());
    if (answer.status == dns::Status::temporary) co_return Stop{Result::temperror, answer.error};
    if (count_as_void)
      if (auto stop = count_void(answer)) co_return *stop;
    for (const auto& r : answer.records)
      if (same_network(r.data, q_.ip, bits)) co_return Match::yes;
    co_return Match::no;
  }

  net::awaitable<std::variant<Match, Stop>> mechanism(const Directive& d, const std::string& domain, unsigned depth) {
    unsigned bits = q_.ip.size() == 4 ? d.cidr4 : d.cidr6;
    switch (d.mechanism) {
      case Mechanism::all:
        co_return Match::yes;
      case Mechanism::ip4:
      case Mechanism::ip6:
        co_return same_network(d.address, q_.ip, bits) ? Match::yes : Match::no;
      case Mechanism::include: {
        if (auto stop = count_lookup()) co_return *stop;
        auto name = target(d.domain_spec, domain);
        if (!name) co_return Stop{Result::permerror, "invalid include domain"};
        auto inner = co_await evaluate(*name, depth + 1);
        // §5.2: what the included record's result means for this one.
        switch (inner.result) {
          case Result::pass:
            co_return Match::yes;
          case Result::fail:
          case Result::softfail:
          case Result::neutral:
            co_return Match::no;
          case Result::temperror:
            co_return Stop{Result::temperror, inner.reason};
          case Result::none:
          case Result::permerror:
            co_return Stop{Result::permerror, fmt::format("include:{}: {}", *name, inner.reason)};
        }
        co_return Match::no;
      }
      case Mechanism::a: {
        if (auto stop = count_lookup()) co_return *stop;
        auto name = target(d.domain_spec, domain);
        if (!name) co_return Match::no;  // §4.8: a name that cannot be looked up does not match
        auto matched = co_await addresses_match(*name, bits, true);
        co_return matched;
      }
      case Mechanism::mx: {
        if (auto stop = count_lookup()) co_return *stop;
        auto name = target(d.domain_spec, domain);
        if (!name) co_return Match::no;
        auto answer = co_await ask(*name, Type::mx);
        if (answer.status == dns::Status::temporary) co_return Stop{Result::temperror, answer.error};
        if (auto stop = count_void(answer)) co_return *stop;
        // §4.6.4: more than 10 MX names is a permerror.
        if (answer.records.size() > 10) co_return Stop{Result::permerror, fmt::format("{}: more than 10 MX", *name)};
        std::optional<Stop> deferred;
        for (const auto& mx : answer.records) {
          if (mx.data.empty()) continue;  // a null MX names no host
          auto matched = co_await addresses_match(mx.data, bits, false);
          if (auto* stop = std::get_if<Stop>(&matched)) {
            deferred = *stop;
            continue;
          }
          if (std::get<Match>(matched) == Match::yes) co_return Match::yes;
        }
        if (deferred) co_return *deferred;
        co_return Match::no;
      }
      case Mechanism::ptr: {
        if (auto stop = count_lookup()) co_return *stop;
        auto name = target(d.domain_spec, domain);
        if (!name) co_return Match::no;
        auto ptr = co_await ask(dns::reverse_name(q_.ip), Type::ptr);
        if (auto stop = count_void(ptr)) co_return *stop;
        // §5.5: a DNS error on the PTR lookup is no match; at most 10 names are checked.
        std::size_t checked = 0;
        for (const auto& r : ptr.records) {
          if (checked++ == 10) break;
          if (!in_domain(r.data, *name)) continue;
          auto matched = co_await addresses_match(r.data, q_.ip.size() * 8, false);
          if (auto* m = std::get_if<Match>(&matched); m && *m == Match::yes) co_return Match::yes;
        }
        co_return Match::no;
      }
      case Mechanism::exists: {
        if (auto stop = count_lookup()) co_return *stop;
        auto name = target(d.domain_spec, domain);
        if (!name) co_return Match::no;
        auto answer = co_await ask(*name, Type::a);  // §5.7: always A, whatever the client
        if (answer.status == dns::Status::temporary) co_return Stop{Result::temperror, answer.error};
        if (auto stop = count_void(answer)) co_return *stop;
        co_return answer.records.empty() ? Match::no : Match::yes;
      }
    }
    co_return Match::no;
  }

  net::awaitable<Outcome> evaluate(std::string domain, unsigned depth) {
    auto found = co_await record_of(domain);
    if (auto* outcome = std::get_if<Outcome>(&found)) co_return std::move(*outcome);
    const auto& record = std::get<Record>(found);
    for (const auto& d : record.directives) {
      auto matched = co_await mechanism(d, domain, depth);
      if (auto* stop = std::get_if<Stop>(&matched)) co_return Outcome{stop->result, stop->reason, ""};
      if (std::get<Match>(matched) == Match::no) continue;
      Outcome out{result_of(d.qualifier), fmt::format("matched at {}", domain), ""};
      if (out.result == Result::fail && record.exp && depth == 0)
        out.explanation = co_await explain(*record.exp, domain);
      co_return out;
    }
    if (record.redirect) {
      // §6.1: the redirect's result is the result, but "none" there is a permerror.
      if (auto stop = count_lookup()) co_return Outcome{stop->result, stop->reason, ""};
      auto name = target(*record.redirect, domain);
      if (!name) co_return Outcome{Result::permerror, "invalid redirect domain", ""};
      auto inner = co_await evaluate(*name, depth);
      if (inner.result == Result::none)
        co_return Outcome{Result::permerror, fmt::format("redirect={}: {}", *name, inner.reason), ""};
      co_return inner;
    }
    co_return Outcome{Result::neutral, fmt::format("no mechanism matched at {}", domain), ""};  // §4.7
  }

  // §6.2: the exp= domain's TXT record, expanded; any trouble means no explanation.
  net::awaitable<std::string> explain(const std::string& spec, const std::string& domain) {
    auto name = target(spec, domain);
    if (!name) co_return std::string();
    auto answer = co_await ask(*name, Type::txt);
    if (answer.status != dns::Status::ok || answer.records.size() != 1) co_return std::string();
    auto text = expand(answer.records[0].data, macros(domain), true);
    if (!text) co_return std::string();
    std::string printable;
    for (char c : *text)
      if (static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7F) printable += c;
    co_return printable.substr(0, 200);
  }

  Lookup lookup_;
  Query q_;
  Limits limits_;
  std::chrono::steady_clock::time_point deadline_;
  unsigned lookups_ = 0;
  unsigned voids_ = 0;
};

}  // namespace

net::awaitable<Outcome> check_host(Lookup lookup, Query query, Limits limits) {
  // §4.3: a domain that is not a fully qualified name (an address literal, a single label)
  // gives none.
  if (!target_name(query.domain) || query.domain.find('.') == std::string::npos || query.domain.front() == '[') {
    Outcome none{Result::none, "not a domain name", ""};
    co_return none;
  }
  Evaluator evaluator(std::move(lookup), std::move(query), limits);
  auto outcome = co_await evaluator.run();
  co_return outcome;
}

}  // namespace mailstead::spf
