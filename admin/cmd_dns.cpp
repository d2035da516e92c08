// mailstead dns records DOMAIN [--check]: every DNS record a local domain should publish for
// its mail to be delivered and trusted (MX, SPF, DKIM, DMARC, the client SRV records of
// RFC 6186 / RFC 8314), and, with --check, what DNS publishes for each: ok, missing or wrong.

#include <fmt/format.h>

#include <algorithm>

#include "admin/command.hpp"
#include "admin/store_access.hpp"
#include "common/dkim/key.hpp"
#include "common/dkim/verifier.hpp"
#include "common/dmarc/dmarc.hpp"
#include "common/dns/resolver.hpp"
#include "common/net/asio.hpp"
#include "common/sasl/base64.hpp"
#include "common/spf/check.hpp"
#include "common/text/ascii.hpp"
#include "storage/accounts.hpp"
#include "storage/dkim_keys.hpp"

namespace mailstead::admin {
namespace {

const OptionSpec kCheck{"--check", false, "look each record up and say what is missing or wrong"};

enum class Kind { mx, spf, dkim, dmarc, srv };

// One record to publish, as a zone file line, and what --check needs to find it.
struct Wanted {
  Kind kind;
  std::string label;  // "MX", "SPF", "DKIM r1", ...
  std::string name;   // owner, without the final dot
  std::string zone;   // the zone file line
  std::string value;  // TXT: the record's text; MX/SRV: the target host
  std::uint16_t port = 0;
  std::string public_key;  // DKIM: the p= bytes
};

std::string zone_strings(std::string_view value) {
  std::string out;
  for (std::size_t at = 0; at < value.size(); at += 250) {
    if (!out.empty()) out += " ";
    out += fmt::format("\"{}\"", value.substr(at, 250));
  }
  return out;
}

std::vector<Wanted> wanted_records(const config::Config& cfg, const std::string& domain,
                                   const std::vector<storage::DkimKey>& keys) {
  const auto& host = cfg.server.hostname;
  std::vector<Wanted> out;
  out.push_back({Kind::mx, "MX", domain, fmt::format("{}. IN MX 10 {}.", domain, host), host, 0, {}});
  // RFC 7208: only this server sends the domain's mail (a relay adds its own include).
  std::string spf = cfg.outbound.relay ? "v=spf1 mx ?all" : "v=spf1 mx -all";
  out.push_back({Kind::spf, "SPF", domain, fmt::format("{}. IN TXT \"{}\"", domain, spf), spf, 0, {}});
  for (const auto& k : keys) {
    if (k.state == storage::DkimKeyState::retired) continue;
    auto key = dkim::PrivateKey::from_pem(k.private_key_pem);
    if (!key) continue;
    auto name = fmt::format("{}._domainkey.{}", k.selector, domain);
    auto record = key->dns_record();
    out.push_back({Kind::dkim, "DKIM " + k.selector, name, fmt::format("{}. IN TXT ( {} )", name, zone_strings(record)),
                   record, 0, key->public_key_base64()});
  }
  auto dmarc = fmt::format("v=DMARC1; p=quarantine; rua=mailto:postmaster@{}", domain);
  out.push_back(
      {Kind::dmarc, "DMARC", "_dmarc." + domain, fmt::format("_dmarc.{}. IN TXT \"{}\"", domain, dmarc), dmarc, 0, {}});
  // RFC 6186 and RFC 8314 §5.1: where mail clients find submission, IMAP and POP3.
  auto srv = [&](const char* service, const std::vector<config::Endpoint>& listeners) {
    if (listeners.empty()) return;
    auto name = fmt::format("{}._tcp.{}", service, domain);
    auto port = listeners.front().port;
    out.push_back({Kind::srv,
                   fmt::format("SRV {}", service),
                   name,
                   fmt::format("{}. IN SRV 0 1 {} {}.", name, port, host),
                   host,
                   static_cast<std::uint16_t>(port),
                   {}});
  };
  srv("_submissions", cfg.smtpd.submissions_listen);
  srv("_submission", cfg.smtpd.submission_listen);
  srv("_imaps", cfg.imapd.tls_listen);
  srv("_imap", cfg.imapd.listen);
  srv("_pop3s", cfg.pop3d.tls_listen);
  srv("_pop3", cfg.pop3d.listen);
  return out;
}

struct Finding {
  bool ok = false;
  std::string what;  // "missing", "wrong: ...", or a note for ok
};

std::string published(const dns::Answer& answer) {
  if (answer.status == dns::Status::temporary) return fmt::format("DNS: {}", answer.error);
  if (answer.records.empty()) return "nothing";
  std::string out;
  for (const auto& r : answer.records) {
    if (!out.empty()) out += ", ";
    out += r.type == dns::Type::mx    ? fmt::format("{} {}", r.preference, r.data)
           : r.type == dns::Type::srv ? fmt::format("{} {} {} {}", r.preference, r.weight, r.port, r.data)
                                      : fmt::format("\"{}\"", r.data);
  }
  return out;
}

// Whether `client` (4 or 16 bytes) passes the domain's published SPF.
net::awaitable<spf::Result> spf_for(dns::Resolver& resolver, const std::string& domain, const std::string& client) {
  spf::Lookup lookup = [&resolver](std::string name, dns::Type type) -> net::awaitable<dns::Answer> {
    auto answer = co_await resolver.query(std::move(name), type);
    co_return answer;
  };
  // Named, not a braced temporary in the co_await: g++ 12 frees such temporaries wrongly.
  spf::Query query{client, domain, "postmaster@" + domain, domain, "", 0};
  auto outcome = co_await spf::check_host(lookup, std::move(query));
  co_return outcome.result;
}

net::awaitable<Finding> check(dns::Resolver& resolver, const Wanted& w, const std::vector<std::string>& addresses) {
  auto lower_equal = [](std::string_view a, std::string_view b) { return text::iequals_ascii(a, b); };
  switch (w.kind) {
    case Kind::mx: {
      auto answer = co_await resolver.query(w.name, dns::Type::mx);
      bool found = std::any_of(answer.records.begin(), answer.records.end(),
                               [&](const dns::Record& r) { return lower_equal(r.data, w.value); });
      if (found) co_return Finding{true, ""};
      co_return Finding{false, answer.records.empty() ? "missing" : "wrong: published " + published(answer)};
    }
    case Kind::spf: {
      auto answer = co_await resolver.query(w.name, dns::Type::txt);
      std::vector<std::string> records;
      for (const auto& r : answer.records)
        if (spf::is_spf_record(r.data)) records.push_back(r.data);
      if (records.empty()) co_return Finding{false, "missing"};
      if (records.size() > 1) co_return Finding{false, "wrong: more than one SPF record (a permerror everywhere)"};
      // What matters is that this server's addresses pass, whatever the record's form.
      for (const auto& a : addresses) {
        auto result = co_await spf_for(resolver, w.name, a);
        if (result != spf::Result::pass)
          co_return Finding{false, fmt::format("wrong: {} for this server's address ({})", spf::to_string(result),
                                               published(answer))};
      }
      co_return Finding{true, addresses.empty() ? "(no address of this server to try)" : ""};
    }
    case Kind::dkim: {
      auto answer = co_await resolver.query(w.name, dns::Type::txt);
      std::vector<std::string> texts;
      for (const auto& r : answer.records) texts.push_back(r.data);
      if (texts.empty()) co_return Finding{false, "missing"};
      auto key = dkim::choose_key(texts);
      if (auto* verdict = std::get_if<dkim::Verdict>(&key)) co_return Finding{false, "wrong: " + verdict->reason};
      auto mine = sasl::base64_decode(w.public_key).value_or("");
      if (std::get<dkim::KeyRecord>(key).public_key != mine) co_return Finding{false, "wrong: another key"};
      co_return Finding{true, ""};
    }
    case Kind::dmarc: {
      auto answer = co_await resolver.query(w.name, dns::Type::txt);
      std::vector<std::string> records;
      for (const auto& r : answer.records)
        if (dmarc::is_dmarc_record(r.data)) records.push_back(r.data);
      if (records.empty()) co_return Finding{false, "missing"};
      if (records.size() > 1) co_return Finding{false, "wrong: more than one DMARC record (ignored everywhere)"};
      auto parsed = dmarc::parse_record(records[0]);
      if (auto* why = std::get_if<std::string>(&parsed)) co_return Finding{false, "wrong: " + *why};
      co_return Finding{true, fmt::format("(p={})", dmarc::to_string(std::get<dmarc::Record>(parsed).policy))};
    }
    case Kind::srv: {
      auto answer = co_await resolver.query(w.name, dns::Type::srv);
      bool found = std::any_of(answer.records.begin(), answer.records.end(),
                               [&](const dns::Record& r) { return lower_equal(r.data, w.value) && r.port == w.port; });
      if (found) co_return Finding{true, ""};
      co_return Finding{false, answer.records.empty() ? "missing" : "wrong: published " + published(answer)};
    }
  }
  co_return Finding{};
}

// The server's own addresses as DNS gives them, each with whether its PTR names the server
// (forward-confirmed reverse DNS: receivers distrust a sender without it).
net::awaitable<int> check_all(dns::Resolver& resolver, const config::Config& cfg, const std::vector<Wanted>& wanted) {
  int problems = 0;
  const auto& host = cfg.server.hostname;
  auto found = co_await resolver.addresses(host);
  std::vector<std::string> addresses;
  if (found.addresses.empty()) {
    fmt::print("missing  A/AAAA    {}: no address ({})\n", host, dns::to_string(found.status));
    ++problems;
  }
  for (const auto& a : found.addresses) {
    std::string bytes;
    if (a.is_v4()) {
      auto b = a.to_v4().to_bytes();
      bytes.assign(reinterpret_cast<const char*>(b.data()), b.size());
    } else {
      auto b = a.to_v6().to_bytes();
      bytes.assign(reinterpret_cast<const char*>(b.data()), b.size());
    }
    addresses.push_back(bytes);
    auto ptr = co_await resolver.query(dns::reverse_name(bytes), dns::Type::ptr);
    bool back = std::any_of(ptr.records.begin(), ptr.records.end(),
                            [&](const dns::Record& r) { return text::iequals_ascii(r.data, host); });
    if (back) {
      fmt::print("ok       PTR       {} -> {}\n", a.to_string(), host);
    } else {
      fmt::print("wrong    PTR       {} -> {} (ask whoever gives you the address to set its PTR to {})\n",
                 a.to_string(), ptr.records.empty() ? std::string("nothing") : ptr.records.front().data, host);
      ++problems;
    }
  }
  for (const auto& w : wanted) {
    auto f = co_await check(resolver, w, addresses);
    if (f.ok) {
      fmt::print("ok       {:<9} {}{}\n", w.label, w.name, f.what.empty() ? "" : " " + f.what);
    } else {
      fmt::print("{:<8} {:<9} {}\n         publish: {}\n", f.what == "missing" ? "missing" : "wrong", w.label,
                 f.what == "missing" ? w.name : w.name + ": " + f.what, w.zone);
      ++problems;
    }
  }
  co_return problems;
}

int dns_records(const Invocation& inv) {
  auto access = open_store(inv);
  if (!access) return kExitFailure;
  std::string domain = text::lower_ascii(inv.args[0]);
  std::vector<storage::DkimKey> keys;
  {
    auto txn = access->store->read();
    if (!storage::is_local_domain(txn, domain)) {
      fmt::print(stderr, "mailstead: {} is not a local domain\n", domain);
      return kExitFailure;
    }
    keys = storage::list_dkim_keys(txn, domain);
  }
  const auto& cfg = access->config;
  auto wanted = wanted_records(cfg, domain, keys);
  if (!inv.has("--check")) {
    fmt::print("; the records {} should publish (and an A/AAAA record of {} with a PTR naming it)\n", domain,
               cfg.server.hostname);
    for (const auto& w : wanted) fmt::print("{}\n", w.zone);
    if (std::none_of(wanted.begin(), wanted.end(), [](const Wanted& w) { return w.kind == Kind::dkim; }))
      fmt::print("; no DKIM key: `mailstead dkim keygen {}` makes one\n", domain);
    return kExitOk;
  }
  net::asio::io_context io;
  dns::Resolver resolver(io.get_executor(), dns::server_list(cfg.dns.servers), cfg.dns.timeout);
  int problems = 0;
  std::exception_ptr failure;
  net::asio::co_spawn(io, check_all(resolver, cfg, wanted), [&](std::exception_ptr e, int n) {
    failure = e;
    problems = n;
    resolver.cancel();  // c-ares keeps its sockets open: stop watching them so that run() returns
  });
  io.run();
  if (failure) std::rethrow_exception(failure);
  if (problems) fmt::print("{} record{} to fix\n", problems, problems == 1 ? "" : "s");
  return problems ? kExitFailure : kExitOk;
}

const std::vector<Command> kCommands = {
    {{"dns", "records"},
     "DOMAIN",
     "print (or check) the DNS records a local domain should publish",
     "Prints MX, SPF, DKIM (each key that is not retired), DMARC and the SRV records mail clients\n"
     "use to find the server (RFC 6186), as zone file lines. With --check, looks each up through\n"
     "dns.servers and says ok, missing or wrong, checks that SPF passes for this server's\n"
     "addresses and that each address's PTR names server.hostname; exit status 1 when anything\n"
     "is missing or wrong.",
     1,
     1,
     {kCheck},
     dns_records},
};

}  // namespace

std::span<const Command> dns_commands() {
  return kCommands;
}

}  // namespace mailstead::admin
