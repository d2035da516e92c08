#pragma once
// Password hashes in crypt(3) form through libxcrypt: yescrypt ($y$, what new hashes use),
// SHA-512-crypt ($6$), bcrypt ($2b$) and the other methods libxcrypt accepts, so that hashes
// imported from another server keep working.
//
// Both functions are slow on purpose (tens of milliseconds): call them off the event loop
// (net/password_pool.hpp does). They are thread-safe (crypt_rn with per-call state).

#include <string>
#include <string_view>

namespace mailstead::auth {

enum class Verdict {
  match,
  mismatch,
  malformed_hash,  // the stored hash is not one libxcrypt can check: a data problem to log
};

Verdict verify_password(std::string_view password, std::string_view hash);

// A new yescrypt hash with a fresh random salt; throws std::runtime_error if libxcrypt fails.
std::string hash_password(std::string_view password);

}  // namespace mailstead::auth
