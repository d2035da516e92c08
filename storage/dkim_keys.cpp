#include "storage/dkim_keys.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "storage/accounts.hpp"
#include "storage/address.hpp"
#include "storage/detail/codec.hpp"
#include "storage/detail/lmdb.hpp"

namespace mailstead::storage {
namespace {

constexpr std::uint8_t kFormat = 1;

// domain NUL selector: a domain's keys are one prefix scan.
std::string key_of(std::string_view domain, std::string_view selector) {
  std::string k(domain);
  k.push_back('\0');
  k.append(selector);
  return k;
}

std::string encode(const DkimKey& key) {
  return codec::Writer(kFormat)
      .str(key.algorithm)
      .str(key.private_key_pem)
      .u64(static_cast<std::uint64_t>(key.created))
      .u64(static_cast<std::uint64_t>(key.state))
      .take();
}

DkimKey decode(std::string_view k, std::string_view bytes) {
  codec::Reader r(bytes, "DKIM key");
  DkimKey key;
  auto nul = k.find('\0');
  key.domain = std::string(k.substr(0, nul));
  key.selector = nul == std::string_view::npos ? std::string() : std::string(k.substr(nul + 1));
  key.algorithm = r.str();
  key.private_key_pem = r.str();
  key.created = static_cast<std::int64_t>(r.u64());
  key.state = static_cast<DkimKeyState>(r.u64());
  return key;
}

}  // namespace

std::string_view to_string(DkimKeyState state) {
  switch (state) {
    case DkimKeyState::active:
      return "active";
    case DkimKeyState::standby:
      return "standby";
    case DkimKeyState::retired:
      return "retired";
  }
  return "?";
}

bool valid_selector(std::string_view selector) {
  // RFC 6376 §3.1: selectors are sub-domains (labels of letters, digits and hyphens).
  if (selector.empty() || selector.size() > 63 * 2 + 1) return false;
  std::size_t label = 0;
  for (std::size_t i = 0; i < selector.size(); ++i) {
    char c = selector[i];
    if (c == '.') {
      if (label == 0 || selector[i - 1] == '-') return false;
      label = 0;
      continue;
    }
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok || (c == '-' && label == 0) || ++label > 63) return false;
  }
  return label != 0 && selector.back() != '-';
}

Result<void> add_dkim_key(WriteTxn& txn, const DkimKey& key) {
  auto domain = normalize_domain(key.domain);
  if (!domain || !is_local_domain(txn, *domain))
    return fail(Errc::not_found, fmt::format("{} is not a local domain", key.domain));
  if (!valid_selector(key.selector))
    return fail(Errc::invalid_argument, fmt::format("\"{}\" is not a valid selector", key.selector));
  if (key.algorithm != "rsa-sha256" && key.algorithm != "ed25519-sha256")
    return fail(Errc::invalid_argument, fmt::format("unknown algorithm {}", key.algorithm));
  auto stored = key;
  stored.domain = *domain;
  stored.selector = lower_ascii(key.selector);
  if (!txn.state().insert(txn.state().dbs().dkim_keys, key_of(stored.domain, stored.selector), encode(stored)))
    return fail(Errc::already_exists,
                fmt::format("{} already has a key with selector {}", stored.domain, stored.selector));
  return {};
}

std::vector<DkimKey> list_dkim_keys(const ReadTxn& txn, std::string_view domain) {
  std::vector<DkimKey> out;
  std::string prefix;
  if (!domain.empty()) {
    auto name = normalize_domain(domain);
    if (!name) return out;
    prefix = *name + '\0';
  }
  txn.state().scan(txn.state().dbs().dkim_keys, prefix, [&](std::string_view k, std::string_view v) {
    out.push_back(decode(k, v));
    return true;
  });
  return out;
}

Result<void> set_dkim_key_state(WriteTxn& txn, std::string_view domain, std::string_view selector, DkimKeyState state) {
  auto name = normalize_domain(domain);
  auto k = key_of(name.value_or(std::string(domain)), lower_ascii(selector));
  auto bytes = txn.state().get(txn.state().dbs().dkim_keys, k);
  if (!bytes) return fail(Errc::not_found, fmt::format("{} has no key with selector {}", domain, selector));
  auto key = decode(k, *bytes);
  key.state = state;
  txn.state().put(txn.state().dbs().dkim_keys, k, encode(key));
  return {};
}

Result<void> remove_dkim_key(WriteTxn& txn, std::string_view domain, std::string_view selector) {
  auto name = normalize_domain(domain);
  if (!txn.state().erase(txn.state().dbs().dkim_keys,
                         key_of(name.value_or(std::string(domain)), lower_ascii(selector))))
    return fail(Errc::not_found, fmt::format("{} has no key with selector {}", domain, selector));
  return {};
}

void remove_dkim_keys_of(WriteTxn& txn, std::string_view domain) {
  for (const auto& key : list_dkim_keys(txn, domain))
    txn.state().erase(txn.state().dbs().dkim_keys, key_of(key.domain, key.selector));
}

}  // namespace mailstead::storage
