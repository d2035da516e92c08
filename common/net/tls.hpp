#pragma once
// Server TLS contexts: TLS 1.2 or newer, the configured certificate chain and key, the
// server's cipher order, no compression, no renegotiation.

#include <memory>
#include <stdexcept>
#include <string>

#include "common/config/config.hpp"
#include "common/net/asio.hpp"

namespace mailstead::net {

// What is wrong with the certificate or key, in words fit for the operator, naming the file.
class TlsSetupError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

std::shared_ptr<ssl::context> make_server_tls_context(const config::TlsConfig& tls);

// "TLSv1.3 TLS_AES_256_GCM_SHA384", for logs and Received: headers.
std::string describe_tls(const SSL* ssl);

}  // namespace mailstead::net
