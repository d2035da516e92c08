#pragma once
// DKIM signatures on the mail smtpd accepts from its users, from programs on this machine and
// from trusted networks: one DKIM-Signature per active key of the domain of the message's
// From address (RFC 6376 §5; dual rsa-sha256 + ed25519-sha256 when both are active, RFC 8463
// §4). Keys come from the store (`mailstead dkim`) at each message, so a key made, activated
// or retired takes effect at once. Parsed keys are kept per domain, only those active at the
// domain's last message: a retired or removed key leaves memory with the next one.

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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
  struct Parsed {
    std::string selector;
    std::string pem;
    dkim::PrivateKey key;
  };
  // The domain's active keys, parsed: from the cache when the store holds the same ones.
  std::vector<Parsed> active_keys(const storage::ReadTxn& txn, const std::string& domain) const;

  const config::DkimConfig& config_;
  mutable std::mutex mutex_;
  mutable std::map<std::string, std::vector<Parsed>, std::less<>> keys_;  // by domain
};

// The domain of a message's first From address, lower-cased; nullopt without one.
std::optional<std::string> author_domain(std::string_view message);

}  // namespace mailstead::smtp
