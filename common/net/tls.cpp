#include "common/net/tls.hpp"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

namespace mailstead::net {
namespace {

std::string openssl_errors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

}  // namespace

std::shared_ptr<ssl::context> make_server_tls_context(const config::TlsConfig& tls) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* ctx = context->native_handle();
  int min = tls.min_version == config::TlsVersion::tls1_3 ? TLS1_3_VERSION : TLS1_2_VERSION;
  SSL_CTX_set_min_proto_version(ctx, min);
  SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                               SSL_OP_SINGLE_DH_USE | SSL_OP_SINGLE_ECDH_USE);
  SSL_CTX_set_dh_auto(ctx, 1);
  // An idle TLS connection then holds no read/write record buffers (about 34 KiB each).
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  ERR_clear_error();
  if (SSL_CTX_set_cipher_list(ctx, tls.ciphers.c_str()) != 1)
    throw TlsSetupError(fmt::format("tls.ciphers: no usable cipher in \"{}\": {}", tls.ciphers, openssl_errors()));
  if (SSL_CTX_use_certificate_chain_file(ctx, tls.certificate.c_str()) != 1)
    throw TlsSetupError(
        fmt::format("tls.certificate: cannot load \"{}\": {}", tls.certificate.string(), openssl_errors()));
  auto mismatch = [&] {
    return TlsSetupError(fmt::format("tls.private_key: \"{}\" does not belong to the certificate \"{}\"",
                                     tls.private_key.string(), tls.certificate.string()));
  };
  if (SSL_CTX_use_PrivateKey_file(ctx, tls.private_key.c_str(), SSL_FILETYPE_PEM) != 1) {
    if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) throw mismatch();
    throw TlsSetupError(
        fmt::format("tls.private_key: cannot load \"{}\": {}", tls.private_key.string(), openssl_errors()));
  }
  if (SSL_CTX_check_private_key(ctx) != 1) throw mismatch();
  return context;
}

std::string describe_tls(const SSL* ssl) {
  if (!ssl) return "none";
  const char* cipher = SSL_get_cipher_name(ssl);
  return fmt::format("{} {}", SSL_get_version(ssl), cipher ? cipher : "?");
}

}  // namespace mailstead::net
