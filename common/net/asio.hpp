#pragma once
// The Asio names the suite uses, in one place. Asio itself is compiled once (asio_impl.cpp).

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace mailstead::net {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;
// A connected stream socket of any family: TCP, or a Unix-domain socket (local submission).
using StreamSocket = boost::asio::generic::stream_protocol::socket;
using boost::asio::awaitable;
using boost::system::error_code;

// Completion token for operations whose failure is an outcome, not an exception.
inline constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// Lets whatever else is queued on this executor run first: a long command runs in slices so
// that it never holds an I/O thread from the other sessions on it.
inline awaitable<void> yield_to_others() {
  auto executor = co_await asio::this_coro::executor;
  co_await asio::post(executor, asio::use_awaitable);
}

}  // namespace mailstead::net
