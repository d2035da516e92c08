#include "smtpd/dkim_signing.hpp"

#include "common/dkim/signer.hpp"
#include "common/log/log.hpp"
#include "common/mime/mime.hpp"
#include "common/text/ascii.hpp"
#include "storage/dkim_keys.hpp"

namespace mailstead::smtp {

std::optional<std::string> author_domain(std::string_view message) {
  mime::FieldReader fields(message.substr(0, mime::header_end(message)));
  std::string_view name, value;
  while (fields.next(name, value)) {
    if (!text::iequals_ascii(name, "from")) continue;
    for (const auto& a : mime::parse_address_list(mime::unfold(value)))
      if (!a.host.empty()) return text::lower_ascii(a.host);
    return std::nullopt;
  }
  return std::nullopt;
}

std::optional<dkim::PrivateKey> DkimSigning::parsed(const std::string& pem) const {
  std::lock_guard lock(mutex_);
  if (auto it = keys_.find(pem); it != keys_.end()) return it->second;
  auto key = dkim::PrivateKey::from_pem(pem);
  if (key) keys_.emplace(pem, *key);
  return key;
}

std::string DkimSigning::signatures(const storage::ReadTxn& txn, std::string_view message, std::int64_t now) const {
  if (!config_.sign) return {};
  auto domain = author_domain(message);
  if (!domain) return {};
  dkim::SignOptions options{config_.headers, config_.oversign, now, config_.expire.count()};
  std::string out;
  for (const auto& stored : storage::list_dkim_keys(txn, *domain)) {
    if (stored.state != storage::DkimKeyState::active) continue;
    auto key = parsed(stored.private_key_pem);
    if (!key) {
      log::error("-", "dkim_key_unreadable", "domain={} selector={}", stored.domain, stored.selector);
      continue;
    }
    out += dkim::sign_message(message, {stored.domain, stored.selector, *key}, options);
  }
  return out;
}

}  // namespace mailstead::smtp
