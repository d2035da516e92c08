#pragma once
// A server-side TLS stream straight on OpenSSL over a non-blocking socket, for Connection.
//
// Why not Asio's ssl::stream: it keeps two 17 KiB record buffers for its whole life, so every
// idle IMAPS session held 34 KiB it was not using. Here OpenSSL reads from and writes to the
// socket itself, and with SSL_MODE_RELEASE_BUFFERS (set on the server context) it frees its
// own record buffers whenever a session goes quiet: an idle TLS connection costs its SSL
// object and little else.
//
// Contract (the same as the Asio stream Connection used before)
// - One read and one write may be pending at once (IMAP IDLE); each waits for socket
//   readiness with async_wait and then retries the OpenSSL call, on the connection's strand.
// - Cancelling the socket (the watchdog, shutdown) ends a pending wait with
//   operation_aborted; the error comes back to the caller, who treats the stream as finished.
// - A peer that closes without close_notify reads as ssl::error::stream_truncated, a clean
//   close_notify as asio::error::eof.

#include <openssl/ssl.h>

#include <cstddef>
#include <span>
#include <string_view>
#include <utility>

#include "common/net/asio.hpp"

namespace mailstead::net {

class TlsStream {
 public:
  TlsStream(StreamSocket& socket, ssl::context& context);
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;
  ~TlsStream();

  awaitable<error_code> handshake();
  awaitable<std::pair<error_code, std::size_t>> read_some(std::span<char> buffer);
  awaitable<error_code> write_all(std::string_view data);

  SSL* native_handle() const { return ssl_; }

 private:
  // What an OpenSSL call's failure means: wait for the socket (then retry) or give up.
  enum class Next { wait_read, wait_write, fail };
  Next classify(int result, error_code& ec);
  awaitable<error_code> wait(Next next);

  StreamSocket& socket_;
  SSL* ssl_;
};

}  // namespace mailstead::net
