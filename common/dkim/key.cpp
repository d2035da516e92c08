#include "common/dkim/key.hpp"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <stdexcept>

#include "common/sasl/base64.hpp"

namespace mailstead::dkim {
namespace {

std::shared_ptr<evp_pkey_st> own(EVP_PKEY* key) {
  return {key, EVP_PKEY_free};
}

[[noreturn]] void crypto_failure(const char* what) {
  throw std::runtime_error(std::string("DKIM: ") + what);
}

std::optional<Algorithm> algorithm_of(EVP_PKEY* key) {
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA:
      return Algorithm::rsa_sha256;
    case EVP_PKEY_ED25519:
      return Algorithm::ed25519_sha256;
    default:
      return std::nullopt;
  }
}

}  // namespace

std::string_view to_string(Algorithm algorithm) {
  return algorithm == Algorithm::rsa_sha256 ? "rsa-sha256" : "ed25519-sha256";
}

std::optional<Algorithm> parse_algorithm(std::string_view text) {
  if (text == "rsa-sha256") return Algorithm::rsa_sha256;
  if (text == "ed25519-sha256") return Algorithm::ed25519_sha256;
  return std::nullopt;
}

PrivateKey PrivateKey::generate(Algorithm algorithm, unsigned bits) {
  EVP_PKEY* key =
      algorithm == Algorithm::rsa_sha256 ? EVP_RSA_gen(bits) : EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (key == nullptr) crypto_failure("key generation failed");
  return PrivateKey(own(key), algorithm);
}

std::optional<PrivateKey> PrivateKey::from_pem(std::string_view pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  if (!bio) return std::nullopt;
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  if (key == nullptr) return std::nullopt;
  auto owned = own(key);
  auto algorithm = algorithm_of(key);
  if (!algorithm) return std::nullopt;
  return PrivateKey(std::move(owned), *algorithm);
}

std::optional<PrivateKey> PrivateKey::from_ed25519_seed(std::string_view seed) {
  if (seed.size() != 32) return std::nullopt;
  EVP_PKEY* key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr,
                                               reinterpret_cast<const unsigned char*>(seed.data()), seed.size());
  if (key == nullptr) return std::nullopt;
  return PrivateKey(own(key), Algorithm::ed25519_sha256);
}

unsigned PrivateKey::bits() const {
  return static_cast<unsigned>(EVP_PKEY_get_bits(key_.get()));
}

std::string PrivateKey::pem() const {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  if (!bio || PEM_write_bio_PKCS8PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
    crypto_failure("cannot write the key");
  char* data = nullptr;
  auto length = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(length));
}

std::string PrivateKey::public_key_base64() const {
  if (algorithm_ == Algorithm::ed25519_sha256) {
    std::string raw(32, '\0');
    std::size_t length = raw.size();
    if (EVP_PKEY_get_raw_public_key(key_.get(), reinterpret_cast<unsigned char*>(raw.data()), &length) != 1)
      crypto_failure("cannot read the public key");
    raw.resize(length);
    return sasl::base64_encode(raw);
  }
  int length = i2d_PUBKEY(key_.get(), nullptr);
  if (length <= 0) crypto_failure("cannot encode the public key");
  std::string der(static_cast<std::size_t>(length), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  i2d_PUBKEY(key_.get(), &out);
  return sasl::base64_encode(der);
}

std::string PrivateKey::dns_record() const {
  return std::string("v=DKIM1; k=") + (algorithm_ == Algorithm::rsa_sha256 ? "rsa" : "ed25519") +
         "; p=" + public_key_base64();
}

std::string PrivateKey::sign(std::string_view data) const {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx) crypto_failure("out of memory");
  std::string input;
  const EVP_MD* md = EVP_sha256();
  if (algorithm_ == Algorithm::ed25519_sha256) {  // PureEdDSA over the SHA-256 of the data
    input = sha256(data);
    data = input;
    md = nullptr;
  }
  if (EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, key_.get()) != 1) crypto_failure("sign init");
  std::size_t length = 0;
  const auto* bytes = reinterpret_cast<const unsigned char*>(data.data());
  if (EVP_DigestSign(ctx.get(), nullptr, &length, bytes, data.size()) != 1) crypto_failure("sign");
  std::string signature(length, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length, bytes, data.size()) != 1)
    crypto_failure("sign");
  signature.resize(length);
  return signature;
}

namespace {

// A record's p= bytes as a key of the algorithm named; null if unreadable or of another type.
std::shared_ptr<evp_pkey_st> public_key(Algorithm algorithm, std::string_view key) {
  EVP_PKEY* raw = nullptr;
  const auto* bytes = reinterpret_cast<const unsigned char*>(key.data());
  if (algorithm == Algorithm::ed25519_sha256) {
    raw = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, bytes, key.size());
  } else {
    // RFC 6376 §3.6.1: SubjectPublicKeyInfo; RSAPublicKey alone is found in the wild too.
    const auto* p = bytes;
    raw = d2i_PUBKEY(nullptr, &p, static_cast<long>(key.size()));
    if (raw == nullptr) {
      p = bytes;
      raw = d2i_PublicKey(EVP_PKEY_RSA, nullptr, &p, static_cast<long>(key.size()));
    }
  }
  if (raw == nullptr) return nullptr;
  auto owned = own(raw);
  if (algorithm_of(raw) != algorithm) return nullptr;
  return owned;
}

}  // namespace

std::optional<unsigned> public_key_bits(Algorithm algorithm, std::string_view key) {
  auto k = public_key(algorithm, key);
  if (!k) return std::nullopt;
  return static_cast<unsigned>(EVP_PKEY_get_bits(k.get()));
}

bool verify_signature(Algorithm algorithm, std::string_view key, std::string_view data, std::string_view signature,
                      unsigned min_rsa_bits) {
  auto k = public_key(algorithm, key);
  if (!k) return false;
  auto* raw = k.get();
  if (algorithm == Algorithm::rsa_sha256 && static_cast<unsigned>(EVP_PKEY_get_bits(raw)) < min_rsa_bits) return false;
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  std::string digest;
  const EVP_MD* md = EVP_sha256();
  if (algorithm == Algorithm::ed25519_sha256) {
    digest = sha256(data);
    data = digest;
    md = nullptr;
  }
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, raw) != 1) return false;
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                          reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
}

std::string sha256(std::string_view bytes) {
  std::string digest(32, '\0');
  unsigned length = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), reinterpret_cast<unsigned char*>(digest.data()), &length, EVP_sha256(),
                 nullptr) != 1)
    crypto_failure("sha256");
  return digest;
}

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  if (ctx_ == nullptr || EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr) != 1) crypto_failure("sha256 init");
}

Sha256::~Sha256() {
  EVP_MD_CTX_free(ctx_);
}

void Sha256::update(std::string_view bytes) {
  if (EVP_DigestUpdate(ctx_, bytes.data(), bytes.size()) != 1) crypto_failure("sha256");
}

std::string Sha256::finish() {
  std::string digest(32, '\0');
  unsigned length = 0;
  if (EVP_DigestFinal_ex(ctx_, reinterpret_cast<unsigned char*>(digest.data()), &length) != 1) crypto_failure("sha256");
  return digest;
}

}  // namespace mailstead::dkim
