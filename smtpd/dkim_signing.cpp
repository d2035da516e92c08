#include "smtpd/dkim_signing.hpp"

#include "common/dkim/signer.hpp"
#include "common/log/log.hpp"
#include "common/mime/mime.hpp"
#include "common/text/ascii.hpp"
#include "smtpd/message_edit.hpp"
#include "storage/dkim_keys.hpp"

namespace mailstead::smtp {

std::optional<std::string> author_domain(std::string_view message) {
  auto domains = author_domains(message, 1);
  if (domains.empty()) return std::nullopt;
  return std::move(domains.front());
}

// Domains whose keys are kept at most; past it the cache starts again (domains removed while
// the daemon runs would otherwise stay in it).
constexpr std::size_t kMaxCachedDomains = 4096;

std::vector<DkimSigning::Parsed> DkimSigning::active_keys(const storage::ReadTxn& txn,
                                                          const std::string& domain) const {
  std::vector<storage::DkimKey> active;
  for (auto& stored : storage::list_dkim_keys(txn, domain))
    if (stored.state == storage::DkimKeyState::active) active.push_back(std::move(stored));
  std::lock_guard lock(mutex_);
  if (active.empty()) {
    keys_.erase(domain);
    return {};
  }
  auto& cached = keys_[domain];
  bool same = cached.size() == active.size();
  for (std::size_t i = 0; same && i < active.size(); ++i)
    same = cached[i].selector == active[i].selector && cached[i].pem == active[i].private_key_pem;
  if (!same) {
    std::vector<Parsed> fresh;
    for (auto& stored : active) {
      auto key = dkim::PrivateKey::from_pem(stored.private_key_pem);
      if (!key) {
        log::error("-", "dkim_key_unreadable", "domain={} selector={}", stored.domain, stored.selector);
        continue;
      }
      fresh.push_back({stored.selector, std::move(stored.private_key_pem), std::move(*key)});
    }
    if (keys_.size() > kMaxCachedDomains) {
      keys_.clear();
      return fresh;
    }
    keys_[domain] = fresh;
    return fresh;
  }
  return cached;
}

std::string DkimSigning::signatures(const storage::ReadTxn& txn, std::string_view message, std::int64_t now) const {
  if (!config_.sign) return {};
  auto domain = author_domain(message);
  if (!domain) return {};
  auto keys = active_keys(txn, *domain);
  if (keys.empty()) return {};
  dkim::SignOptions options{config_.headers, config_.oversign, now, config_.expire.count()};
  dkim::MessageSigner signer(message, options);
  std::string out;
  for (auto& k : keys) out += signer.sign({*domain, k.selector, k.key});
  return out;
}

}  // namespace mailstead::smtp
