#include "common/net/tls_stream.hpp"

#include <openssl/err.h>

#include <cerrno>
#include <stdexcept>

namespace mailstead::net {

TlsStream::TlsStream(StreamSocket& socket, ssl::context& context)
    : socket_(socket), ssl_(SSL_new(context.native_handle())) {
  if (!ssl_) throw std::runtime_error("SSL_new failed");
  // Writes may finish in pieces and be retried from a moved buffer (our output string).
  SSL_set_mode(ssl_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  error_code ignored;
  socket_.non_blocking(true, ignored);
  SSL_set_fd(ssl_, static_cast<int>(socket_.native_handle()));
  SSL_set_accept_state(ssl_);
}

TlsStream::~TlsStream() {
  SSL_free(ssl_);
}

TlsStream::Next TlsStream::classify(int result, error_code& ec) {
  int saved_errno = errno;
  switch (SSL_get_error(ssl_, result)) {
    case SSL_ERROR_WANT_READ:
      return Next::wait_read;
    case SSL_ERROR_WANT_WRITE:
      return Next::wait_write;
    case SSL_ERROR_ZERO_RETURN:
      ec = asio::error::eof;
      return Next::fail;
    case SSL_ERROR_SYSCALL: {
      auto code = ERR_get_error();
      if (code != 0)
        ec = error_code(static_cast<int>(code), asio::error::get_ssl_category());
      else if (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK)
        return Next::wait_read;
      else if (saved_errno != 0)
        ec = error_code(saved_errno, asio::error::get_system_category());
      else
        ec = ssl::error::stream_truncated;  // the peer closed without close_notify
      return Next::fail;
    }
    default: {
      auto code = ERR_get_error();
      ec = code ? error_code(static_cast<int>(code), asio::error::get_ssl_category()) : ssl::error::stream_truncated;
      return Next::fail;
    }
  }
}

awaitable<error_code> TlsStream::wait(Next next) {
  auto [ec] = co_await socket_.async_wait(next == Next::wait_read ? StreamSocket::wait_read : StreamSocket::wait_write,
                                          use_tuple);
  co_return ec;
}

awaitable<error_code> TlsStream::handshake() {
  for (;;) {
    ERR_clear_error();
    int r = SSL_do_handshake(ssl_);
    if (r == 1) co_return error_code{};
    error_code ec;
    auto next = classify(r, ec);
    if (next == Next::fail) co_return ec;
    auto waited = co_await wait(next);
    if (waited) co_return waited;
  }
}

awaitable<std::pair<error_code, std::size_t>> TlsStream::read_some(std::span<char> buffer) {
  for (;;) {
    ERR_clear_error();
    std::size_t n = 0;
    int r = SSL_read_ex(ssl_, buffer.data(), buffer.size(), &n);
    if (r == 1) co_return std::pair{error_code{}, n};
    error_code ec;
    auto next = classify(r, ec);
    if (next == Next::fail) co_return std::pair{ec, std::size_t{0}};
    auto waited = co_await wait(next);
    if (waited) co_return std::pair{waited, std::size_t{0}};
  }
}

awaitable<error_code> TlsStream::write_all(std::string_view data) {
  while (!data.empty()) {
    ERR_clear_error();
    std::size_t n = 0;
    int r = SSL_write_ex(ssl_, data.data(), data.size(), &n);
    if (r == 1) {
      data.remove_prefix(n);
      continue;
    }
    error_code ec;
    auto next = classify(r, ec);
    if (next == Next::fail) co_return ec;
    auto waited = co_await wait(next);
    if (waited) co_return waited;
  }
  co_return error_code{};
}

}  // namespace mailstead::net
