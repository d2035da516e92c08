#pragma once
// DKIM keys (RFC 6376 §3.3, RFC 8463): rsa-sha256 and ed25519-sha256, made, read from PEM,
// and published as the DNS TXT record a verifier fetches.

#include <memory>
#include <optional>
#include <string>
#include <string_view>

struct evp_pkey_st;
struct evp_md_ctx_st;

namespace mailstead::dkim {

enum class Algorithm { rsa_sha256, ed25519_sha256 };
std::string_view to_string(Algorithm algorithm);  // "rsa-sha256", "ed25519-sha256"
std::optional<Algorithm> parse_algorithm(std::string_view text);

class PrivateKey {
 public:
  // A new key: RSA of `bits` (1024 to 8192), or Ed25519.
  static PrivateKey generate(Algorithm algorithm, unsigned bits = 2048);
  // PKCS #8 or PKCS #1 PEM; nullopt if unreadable or of another kind.
  static std::optional<PrivateKey> from_pem(std::string_view pem);
  // Ed25519 from its 32-byte secret (RFC 8032), as RFC 8463's examples give it.
  static std::optional<PrivateKey> from_ed25519_seed(std::string_view seed);

  Algorithm algorithm() const { return algorithm_; }
  unsigned bits() const;
  std::string pem() const;  // PKCS #8
  // The p= value: base64 of the SubjectPublicKeyInfo (RSA) or of the raw 32 bytes (Ed25519).
  std::string public_key_base64() const;
  // The TXT record: "v=DKIM1; k=rsa; p=...".
  std::string dns_record() const;

  // The signature over `data`: RSASSA-PKCS1-v1_5 with SHA-256, or Ed25519 over SHA-256 of
  // the data (RFC 8463 §3: the hash is what is signed).
  std::string sign(std::string_view data) const;

 private:
  PrivateKey(std::shared_ptr<evp_pkey_st> key, Algorithm algorithm) : key_(std::move(key)), algorithm_(algorithm) {}
  std::shared_ptr<evp_pkey_st> key_;
  Algorithm algorithm_;
};

// Whether `signature` over `data` verifies with a record's public key (`key`: the p= bytes,
// decoded). RSA keys under `min_rsa_bits` never verify (RFC 8301 §3.2: 1024 at least).
bool verify_signature(Algorithm algorithm, std::string_view key, std::string_view data, std::string_view signature,
                      unsigned min_rsa_bits = 1024);

// The size of a record's public key (`key`: the p= bytes, decoded); nullopt when it is not a
// readable key of that algorithm.
std::optional<unsigned> public_key_bits(Algorithm algorithm, std::string_view key);

std::string sha256(std::string_view bytes);  // the 32-byte digest

// SHA-256 over data given in pieces.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(std::string_view bytes);
  std::string finish();  // the 32-byte digest

 private:
  struct evp_md_ctx_st* ctx_;
};

}  // namespace mailstead::dkim
