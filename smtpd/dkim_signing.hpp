#pragma once
// DKIM signatures on the mail smtpd accepts from its users, from programs on this machine and
// from trusted networks: one DKIM-Signature per active key of the domain of the message's
// From address (RFC 6376 §5; dual rsa-sha256 + ed25519-sha256 when both are active, RFC 8463
// §4). Keys come from the store (`mailstead dkim`) at each message, so a key made, activated
// or retired takes effect at once; each is parsed once and kept.

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "common/config/config.hpp"
#include "common/dkim/key.hpp"
#include "storage/store.hpp"

namespace mailstead::smtp {

class DkimSigning {
 public:
  explicit DkimSigning(const config::DkimConfig& config) : config_(config) {}

  // The DKIM-Signature fields to put above `message`, or nothing when signing is off or its
  // author's domain has no active key.
  std::string signatures(const storage::ReadTxn& txn, std::string_view message, std::int64_t now) const;

 private:
  std::optional<dkim::PrivateKey> parsed(const std::string& pem) const;

  const config::DkimConfig& config_;
  mutable std::mutex mutex_;
  mutable std::map<std::string, dkim::PrivateKey, std::less<>> keys_;  // by PEM
};

// The domain of a message's first From address, lower-cased; nullopt without one.
std::optional<std::string> author_domain(std::string_view message);

}  // namespace mailstead::smtp
