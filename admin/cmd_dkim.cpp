// mailstead dkim ...: the DKIM signing keys of local domains (RFC 6376, RFC 8463), kept in the
// store, and the DNS records that publish them.

#include <fmt/format.h>

#include <algorithm>
#include <ctime>

#include "admin/command.hpp"
#include "admin/store_access.hpp"
#include "common/dkim/key.hpp"
#include "storage/dkim_keys.hpp"

namespace mailstead::admin {
namespace {

using namespace storage;

const OptionSpec kSelector{"--selector", true, "the selector (default: ALGORITHM-YYYYMMDD, e.g. rsa-20261206)"};
const OptionSpec kAlgorithm{"--algorithm", true, "rsa (default) or ed25519"};
const OptionSpec kBits{"--bits", true, "RSA key size: 2048 (default), 3072 or 4096"};
const OptionSpec kStandby{"--standby", false, "make it but do not sign with it yet (for a rotation)"};

// A TXT record's value as DNS zone files write it: strings of at most 255 characters each.
std::string zone_strings(std::string_view value) {
  std::string out;
  for (std::size_t at = 0; at < value.size(); at += 250) {
    if (!out.empty()) out += "\n\t";
    out += fmt::format("\"{}\"", value.substr(at, 250));
  }
  return out;
}

std::string zone_record(const DkimKey& stored, const dkim::PrivateKey& key) {
  return fmt::format("{}._domainkey.{}. IN TXT ( {} )", stored.selector, stored.domain, zone_strings(key.dns_record()));
}

std::string date_of(std::int64_t when) {
  std::time_t t = when;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[16];
  std::strftime(text, sizeof text, "%Y%m%d", &tm);
  return text;
}

int dkim_keygen(const Invocation& inv) {
  auto algorithm_name = inv.value("--algorithm").value_or("rsa");
  if (algorithm_name != "rsa" && algorithm_name != "ed25519") {
    fmt::print(stderr, "mailstead: --algorithm is rsa or ed25519, not {}\n", algorithm_name);
    return kExitUsage;
  }
  auto algorithm = algorithm_name == "rsa" ? dkim::Algorithm::rsa_sha256 : dkim::Algorithm::ed25519_sha256;
  unsigned bits = 2048;
  if (auto b = inv.value("--bits")) {
    auto n = parse_number<unsigned>(*b);
    if (!n || (*n != 2048 && *n != 3072 && *n != 4096)) {
      fmt::print(stderr, "mailstead: --bits is 2048, 3072 or 4096\n");
      return kExitUsage;
    }
    bits = *n;
  }
  auto now = static_cast<std::int64_t>(std::time(nullptr));
  std::string selector(inv.value("--selector").value_or(""));
  if (selector.empty()) selector = fmt::format("{}-{}", algorithm_name, date_of(now));
  if (!valid_selector(selector)) {
    fmt::print(stderr, "mailstead: \"{}\" is not a valid selector (letters, digits, '-', '.')\n", selector);
    return kExitUsage;
  }
  auto access = open_store(inv);
  if (!access) return kExitFailure;
  auto key = dkim::PrivateKey::generate(algorithm, bits);
  DkimKey stored{std::string(inv.args[0]),
                 selector,
                 std::string(dkim::to_string(algorithm)),
                 key.pem(),
                 now,
                 inv.has("--standby") ? DkimKeyState::standby : DkimKeyState::active};
  auto added = access->store->update([&](WriteTxn& t) { return add_dkim_key(t, stored); });
  if (!added) return report(added.error());
  auto keys = list_dkim_keys(access->store->read(), stored.domain);
  auto it = std::find_if(keys.begin(), keys.end(), [&](const DkimKey& k) { return k.selector == selector; });
  fmt::print("made {} key {} of {} ({}); publish this record:\n\n{}\n", stored.algorithm, it->selector, it->domain,
             to_string(it->state), zone_record(*it, key));
  return kExitOk;
}

int dkim_list(const Invocation& inv) {
  auto access = open_store(inv);
  if (!access) return kExitFailure;
  auto domain = inv.args.empty() ? std::string_view{} : inv.args[0];
  auto keys = list_dkim_keys(access->store->read(), domain);
  if (inv.has("--json")) {
    print_json_list(keys, [](const DkimKey& k) {
      auto key = dkim::PrivateKey::from_pem(k.private_key_pem);
      return fmt::format(R"({{"domain":{},"selector":{},"algorithm":{},"state":{},"created":{},"record":{}}})",
                         json_string(k.domain), json_string(k.selector), json_string(k.algorithm),
                         json_string(to_string(k.state)), k.created, json_string(key ? key->dns_record() : ""));
    });
    return kExitOk;
  }
  for (const auto& k : keys)
    fmt::print("{}\t{}\t{}\t{}\tmade {}\n", k.domain, k.selector, k.algorithm, to_string(k.state), date_of(k.created));
  return kExitOk;
}

int dkim_record(const Invocation& inv) {
  auto access = open_store(inv);
  if (!access) return kExitFailure;
  for (const auto& k : list_dkim_keys(access->store->read(), inv.args[0])) {
    if (inv.args.size() > 1 && k.selector != inv.args[1]) continue;
    if (inv.args.size() == 1 && k.state == DkimKeyState::retired) continue;
    auto key = dkim::PrivateKey::from_pem(k.private_key_pem);
    if (!key) {
      fmt::print(stderr, "mailstead: the key {} of {} cannot be read\n", k.selector, k.domain);
      return kExitFailure;
    }
    fmt::print("{}\n", zone_record(k, *key));
  }
  return kExitOk;
}

int set_state(const Invocation& inv, DkimKeyState state) {
  auto access = open_store(inv);
  if (!access) return kExitFailure;
  auto done =
      access->store->update([&](WriteTxn& t) { return set_dkim_key_state(t, inv.args[0], inv.args[1], state); });
  if (!done) return report(done.error());
  fmt::print("the key {} of {} is {}\n", inv.args[1], inv.args[0], to_string(state));
  return kExitOk;
}

int dkim_activate(const Invocation& inv) {
  return set_state(inv, DkimKeyState::active);
}
int dkim_standby(const Invocation& inv) {
  return set_state(inv, DkimKeyState::standby);
}
int dkim_retire(const Invocation& inv) {
  return set_state(inv, DkimKeyState::retired);
}

int dkim_remove(const Invocation& inv) {
  auto access = open_store(inv);
  if (!access) return kExitFailure;
  auto done = access->store->update([&](WriteTxn& t) { return remove_dkim_key(t, inv.args[0], inv.args[1]); });
  if (!done) return report(done.error());
  fmt::print("removed the key {} of {}\n", inv.args[1], inv.args[0]);
  return kExitOk;
}

const std::vector<Command> kCommands = {
    {{"dkim", "keygen"},
     "DOMAIN",
     "make a DKIM signing key for a local domain",
     "Makes an RSA (2048 bits unless --bits) or Ed25519 key, keeps it in the store and prints the\n"
     "TXT record to publish. Mail from DOMAIN is signed with every active key: an RSA and an\n"
     "Ed25519 key together sign twice, which every verifier accepts (RFC 8463). Publish the record\n"
     "before or right after making the key; with --standby it signs nothing until activated.",
     1,
     1,
     {kSelector, kAlgorithm, kBits, kStandby},
     dkim_keygen},
    {{"dkim", "list"},
     "[DOMAIN]",
     "list DKIM keys",
     "Prints each key: domain, selector, algorithm, state (active, standby, retired), date made.",
     0,
     1,
     {kJson},
     dkim_list},
    {{"dkim", "record"},
     "DOMAIN [SELECTOR]",
     "print the DNS records of a domain's DKIM keys",
     "Prints the TXT record of each key that is not retired (or of SELECTOR).",
     1,
     2,
     {},
     dkim_record},
    {{"dkim", "activate"},
     "DOMAIN SELECTOR",
     "sign with a key",
     "Rotation: `keygen --standby`, publish its record, wait for the DNS TTL, `activate` it,\n"
     "`retire` the old key; `remove` the old key (and its record) a few days later.",
     2,
     2,
     {},
     dkim_activate},
    {{"dkim", "standby"}, "DOMAIN SELECTOR", "stop signing with a key, keeping it", "", 2, 2, {}, dkim_standby},
    {{"dkim", "retire"},
     "DOMAIN SELECTOR",
     "stop signing with a key for good",
     "A retired key signs nothing; keep its record published until mail signed with it has\n"
     "been read, then `remove` it.",
     2,
     2,
     {},
     dkim_retire},
    {{"dkim", "remove"}, "DOMAIN SELECTOR", "delete a key", "The private key is gone for good.", 2, 2, {}, dkim_remove},
};

}  // namespace

std::span<const Command> dkim_commands() {
  return kCommands;
}

}  // namespace mailstead::admin
