#include "common/net/connection.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <boost/asio/write.hpp>
#include <cstring>

#include "common/log/log.hpp"
#include "common/net/tls.hpp"

namespace mailstead::net {

std::optional<tcp::endpoint> to_tcp(const asio::generic::stream_protocol::endpoint& generic) {
  auto family = generic.protocol().family();
  if (family != AF_INET && family != AF_INET6) return std::nullopt;
  tcp::endpoint out;
  std::memcpy(out.data(), generic.data(), generic.size());
  out.resize(generic.size());
  return out;
}

std::string_view to_string(ReadStatus status) {
  switch (status) {
    case ReadStatus::ok:
      return "ok";
    case ReadStatus::closed:
      return "closed";
    case ReadStatus::timed_out:
      return "timeout";
    case ReadStatus::shutdown:
      return "shutdown";
    case ReadStatus::error:
      return "error";
  }
  return "?";
}

Connection::Connection(StreamSocket socket, std::shared_ptr<ssl::context> tls, std::string session_id,
                       std::size_t max_line)
    : tls_context_(std::move(tls)),
      socket_(std::move(socket)),
      watchdog_timer_(socket_.get_executor()),
      session_id_(std::move(session_id)),
      input_(max_line) {
  error_code ec;
  auto local = socket_.local_endpoint(ec);
  if (auto tcp_local = to_tcp(local); tcp_local && !ec) local_ = *tcp_local;
  if (auto remote = to_tcp(socket_.remote_endpoint(ec)); remote && !ec) remote_ = *remote;
  if (local.protocol().family() == AF_UNIX) {
    ucred credentials{};
    socklen_t size = sizeof(credentials);
    if (::getsockopt(socket_.native_handle(), SOL_SOCKET, SO_PEERCRED, &credentials, &size) == 0)
      local_peer_ = LocalPeer{credentials.uid, credentials.gid, credentials.pid};
  }
}

void Connection::acknowledge_now() {
  if (local_peer_) return;  // a Unix-domain socket
  int on = 1;
  // Fails harmlessly where there is no TCP (a socketpair in tests); the flag is not sticky,
  // the kernel drops it again by itself, so it is set each time.
  ::setsockopt(socket_.native_handle(), IPPROTO_TCP, TCP_QUICKACK, &on, sizeof on);
}

std::string Connection::tls_description() const {
  return tls_active_ ? describe_tls(tls_->native_handle()) : "none";
}

void Connection::set_deadline(Clock::time_point& which, Clock::time_point deadline) {
  which = deadline;
  auto earliest = std::min(read_deadline_, write_deadline_);
  bool sooner = earliest < deadline_;
  deadline_ = earliest;
  if (sooner) watchdog_timer_.cancel();  // wake the watchdog to re-arm for the earlier time
}

awaitable<void> Connection::watchdog() {
  while (!closed_) {
    watchdog_timer_.expires_at(deadline_);
    co_await watchdog_timer_.async_wait(use_tuple);
    if (closed_) break;
    if (Clock::now() >= deadline_) {
      timed_out_ = true;
      deadline_ = read_deadline_ = write_deadline_ = Clock::time_point::max();
      error_code ignored;
      socket_.cancel(ignored);
    }
  }
}

ReadStatus Connection::status_of(const error_code& ec) {
  if (!ec) return ReadStatus::ok;
  if (timed_out_) {
    timed_out_ = false;
    return ReadStatus::timed_out;
  }
  if (ec == asio::error::operation_aborted && shutdown_requested_) return ReadStatus::shutdown;
  if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated || ec == asio::error::connection_reset ||
      ec == asio::error::broken_pipe)
    return ReadStatus::closed;
  return ReadStatus::error;
}

awaitable<bool> Connection::talks_within(std::chrono::milliseconds span) {
  if (!input_.buffered().empty()) co_return true;
  asio::steady_timer timer(socket_.get_executor());
  timer.expires_after(span);
  // The timer's handler may run after this wait has ended (its expiry raced the input): the
  // state it shares says so, and then it touches nothing.
  struct State {
    bool quiet = false;
    bool over = false;
  };
  auto state = std::make_shared<State>();
  timer.async_wait([this, state](error_code ec) {
    if (ec || state->over) return;
    state->quiet = true;
    error_code ignored;
    socket_.cancel(ignored);
  });
  co_await socket_.async_wait(asio::socket_base::wait_read, use_tuple);  // input, a close, or the cancel
  state->over = true;
  timer.cancel();
  co_return !state->quiet;
}

awaitable<ReadStatus> Connection::receive_more(std::chrono::seconds idle) {
  if (closed_) co_return ReadStatus::closed;
  for (;;) {
    // Compressed input: inflated only as far as input() has room, so a small stream that
    // inflates to gigabytes is held back by the same limits as plain input. When that room
    // ran out, zlib may still hold inflated bytes whose input it has already taken (the rest of
    // a long match): they are asked for before anything more is read, or a client that sent
    // its last command would wait for an answer to bytes the server never looked at.
    if (inflater_ && (!compressed_input_.empty() || inflated_pending_)) {
      auto room = input_.prepare();
      auto progress = inflater_->inflate(compressed_input_, room);
      if (!progress) {
        log::info(session_id_, "compression_error", "reason=\"the client's input is not DEFLATE\"");
        close();
        co_return ReadStatus::error;
      }
      input_.commit(progress->produced);
      compressed_input_.erase(0, progress->consumed);
      if (compressed_input_.empty()) std::string().swap(compressed_input_);  // an idle connection keeps none
      if (!room.empty()) inflated_pending_ = progress->produced == room.size();
      // No room: the caller must take some input first. (With room, zlib always takes or
      // gives something unless the stream is bad, which was answered above.)
      if (progress->produced > 0 || room.empty()) co_return ReadStatus::ok;
    }
    // Received into the free space of input(); when compressed, moved from there to
    // compressed_input_, and the inflated bytes take the space.
    auto space = input_.prepare();
    set_deadline(read_deadline_, Clock::now() + idle);
    auto buffer = asio::buffer(space.data(), space.size());
    error_code ec;
    std::size_t n = 0;
    if (tls_active_) {
      auto result = co_await tls_->read_some(space);
      ec = result.first;
      n = result.second;
    } else {
      auto [read_ec, read_n] = co_await socket_.async_read_some(buffer, use_tuple);
      ec = read_ec;
      n = read_n;
    }
    set_deadline(read_deadline_, Clock::time_point::max());
    if (!inflater_) {
      input_.commit(n);
      co_return status_of(ec);
    }
    if (ec) co_return status_of(ec);
    compressed_input_.append(space.data(), n);
  }
}

void Connection::start_compression() {
  auto pending = input_.buffered();
  compressed_input_.assign(pending.data(), pending.size());
  input_.discard_buffered();
  inflater_ = std::make_unique<io::Inflater>();
}

awaitable<LineResult> Connection::read_line(std::chrono::seconds idle) {
  for (;;) {
    auto event = input_.next();
    if (auto* line = std::get_if<io::Line>(&event)) co_return *line;
    if (std::holds_alternative<io::LineTooLong>(event)) co_return io::LineTooLong{};
    if (shutdown_requested_) co_return Closed{ReadStatus::shutdown};
    waiting_for_command_ = true;
    auto status = co_await receive_more(idle);
    waiting_for_command_ = false;
    if (status != ReadStatus::ok) co_return Closed{status};
  }
}

awaitable<bool> Connection::write(std::string_view data, std::chrono::seconds timeout) {
  if (closed_) co_return false;
  std::string compressed;
  if (inflater_) {
    compressed = io::deflate_batch(data);
    data = compressed;
  }
  set_deadline(write_deadline_, Clock::now() + timeout);
  auto buffer = asio::buffer(data.data(), data.size());
  error_code ec;
  if (tls_active_) {
    ec = co_await tls_->write_all(data);
  } else {
    auto [write_ec, written] = co_await asio::async_write(socket_, buffer, use_tuple);
    ec = write_ec;
    (void)written;
  }
  set_deadline(write_deadline_, Clock::time_point::max());
  timed_out_ = false;
  if (ec) close();  // a half-written reply leaves the stream unusable
  co_return !ec;
}

awaitable<error_code> Connection::start_tls(std::chrono::seconds timeout) {
  input_.discard_buffered();  // RFC 3207 §4.2, RFC 2595 §3.1: nothing sent before TLS counts
  set_deadline(write_deadline_, Clock::now() + timeout);
  // Made only now: a plain connection (most of a port-25 server's) never needs one.
  tls_ = std::make_unique<TlsStream>(socket_, *tls_context_);
  auto ec = co_await tls_->handshake();
  set_deadline(write_deadline_, Clock::time_point::max());
  if (std::exchange(timed_out_, false)) ec = asio::error::timed_out;
  if (!ec) tls_active_ = true;
  co_return ec;
}

void Connection::request_shutdown() {
  shutdown_requested_ = true;
  if (waiting_for_command_) {
    error_code ignored;
    socket_.cancel(ignored);
  }
}

void Connection::close() {
  if (closed_) return;
  closed_ = true;
  error_code ignored;
  socket_.shutdown(StreamSocket::shutdown_both, ignored);
  socket_.close(ignored);
  watchdog_timer_.cancel();
}

}  // namespace mailstead::net
