#pragma once
// DKIM signing keys (RFC 6376), kept in the store so that every daemon, every node of a shared
// store and every backup has the same keys. A domain may hold several: rotation is a new key
// in standby (its record published), then active, and the old one retired, then removed.
// Private keys are PEM (PKCS #8), readable only by whoever can read the store.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "storage/result.hpp"
#include "storage/store.hpp"

namespace mailstead::storage {

enum class DkimKeyState : std::uint8_t {
  active = 1,   // mail from the domain is signed with it
  standby = 2,  // made and perhaps published, not used yet
  retired = 3,  // no longer used; its record may stay published until old mail has been read
};
std::string_view to_string(DkimKeyState state);

struct DkimKey {
  std::string domain;     // lower case, a local domain
  std::string selector;   // a DNS label or labels: letters, digits, '-', '.'
  std::string algorithm;  // "rsa-sha256" or "ed25519-sha256"
  std::string private_key_pem;
  std::int64_t created = 0;  // seconds since the epoch
  DkimKeyState state = DkimKeyState::active;
};

// A selector must be usable as `selector._domainkey.domain`.
bool valid_selector(std::string_view selector);

// Adds a key of a local domain; fails if the domain is not local or the selector is taken.
Result<void> add_dkim_key(WriteTxn& txn, const DkimKey& key);
// The keys of one domain (or of every domain when `domain` is empty), by domain and selector.
std::vector<DkimKey> list_dkim_keys(const ReadTxn& txn, std::string_view domain = {});
Result<void> set_dkim_key_state(WriteTxn& txn, std::string_view domain, std::string_view selector, DkimKeyState state);
Result<void> remove_dkim_key(WriteTxn& txn, std::string_view domain, std::string_view selector);
// Every key of a domain that is being removed.
void remove_dkim_keys_of(WriteTxn& txn, std::string_view domain);

}  // namespace mailstead::storage
