#include "common/auth/password.hpp"

#include <crypt.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>

namespace mailstead::auth {
namespace {

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

// crypt_data is ~32 KiB: too big for a coroutine-friendly stack frame.
struct CryptState {
  crypt_data data{};
  ~CryptState() { explicit_bzero(&data, sizeof data); }
};

}  // namespace

Verdict verify_password(std::string_view password, std::string_view hash) {
  if (hash.empty() || hash.find('\0') != std::string_view::npos) return Verdict::malformed_hash;
  if (password.find('\0') != std::string_view::npos) return Verdict::mismatch;  // crypt would cut it
  std::string phrase(password);
  std::string setting(hash);
  auto state = std::make_unique<CryptState>();
  const char* result = crypt_rn(phrase.c_str(), setting.c_str(), &state->data, sizeof state->data);
  explicit_bzero(phrase.data(), phrase.size());
  if (result == nullptr || result[0] == '*') return Verdict::malformed_hash;
  return constant_time_equal(result, hash) ? Verdict::match : Verdict::mismatch;
}

std::string hash_password(std::string_view password) {
  if (password.find('\0') != std::string_view::npos) throw std::invalid_argument("password contains NUL");
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  if (!crypt_gensalt_rn("$y$", 0, nullptr, 0, salt, sizeof salt))
    throw std::runtime_error(std::string("crypt_gensalt: ") + std::generic_category().message(errno));
  std::string phrase(password);
  auto state = std::make_unique<CryptState>();
  const char* result = crypt_rn(phrase.c_str(), salt, &state->data, sizeof state->data);
  explicit_bzero(phrase.data(), phrase.size());
  if (result == nullptr || result[0] == '*') throw std::runtime_error("crypt: cannot hash with yescrypt");
  return result;
}

}  // namespace mailstead::auth
