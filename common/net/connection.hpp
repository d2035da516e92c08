#pragma once
// One client connection as a protocol session sees it: a TCP socket that is plain or TLS
// (implicit, or upgraded by STARTTLS), or a Unix-domain socket of a local program (smtpd's
// local submission), the bounded line reader that owns its input, and a deadline on every
// read and write.
//
// Implementation notes
// - Deadlines: one watchdog coroutine per connection, on the connection's strand, cancels the
//   pending socket operation when the deadline passes; the operation then reports timed_out.
//   This keeps one timer per connection instead of one per read. Reads and writes keep their
//   own deadlines, so that one read and one write may be pending at once (IMAP IDLE reads the
//   client's DONE while updates are written), and the watchdog keeps the earlier.
// - All input goes through input() (an io::LineReader of the protocol's line limit); raw
//   readers (DATA, literals) take bytes from it with receive_more(). start_tls() discards
//   whatever plaintext arrived behind the STARTTLS command before the handshake starts.
// - Shutdown: request_shutdown() makes a session that is waiting for its next command see
//   Closed{shutdown} at once; a session in the middle of a transfer finishes it, and the
//   server closes what remains after the grace period.
// - Errors are outcomes (ReadStatus / bool), never exceptions: a peer that goes away is normal.

#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "common/io/deflate.hpp"
#include "common/io/line_reader.hpp"
#include "common/net/asio.hpp"
#include "common/net/tls_stream.hpp"

namespace mailstead::net {

using Clock = std::chrono::steady_clock;

enum class ReadStatus { ok, closed, timed_out, shutdown, error };
std::string_view to_string(ReadStatus status);

// The TCP endpoint that a generic one holds; nullopt for other families (Unix-domain).
std::optional<tcp::endpoint> to_tcp(const asio::generic::stream_protocol::endpoint& generic);

// Who is at the other end of a Unix-domain socket, as the kernel reports it (SO_PEERCRED).
struct LocalPeer {
  unsigned uid = 0;
  unsigned gid = 0;
  int pid = 0;
};

struct Closed {
  ReadStatus why;
};
using LineResult = std::variant<io::Line, io::LineTooLong, Closed>;

class Connection {
 public:
  Connection(StreamSocket socket, std::shared_ptr<ssl::context> tls, std::string session_id, std::size_t max_line);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  const std::string& session_id() const { return session_id_; }
  // TCP endpoints; on a Unix-domain socket both are unspecified (0.0.0.0:0) and local_peer()
  // says who connected.
  const tcp::endpoint& remote() const { return remote_; }
  const tcp::endpoint& local() const { return local_; }
  const std::optional<LocalPeer>& local_peer() const { return local_peer_; }
  bool is_tls() const { return tls_active_; }
  std::string tls_description() const;  // "TLSv1.3 TLS_AES_256_GCM_SHA384" or "none"

  io::LineReader& input() { return input_; }
  auto get_executor() { return socket_.get_executor(); }

  // The next line (or LineTooLong), receiving as needed; waits at most `idle` for input.
  awaitable<LineResult> read_line(std::chrono::seconds idle);
  // Receives more bytes into input() once; for raw readers (DATA, literals).
  awaitable<ReadStatus> receive_more(std::chrono::seconds idle);
  // Whether the peer sends anything (or closes) within `span`, without reading it: for a server
  // whose protocol has the client wait for a greeting (RFC 5321 §3.1, the early talker).
  awaitable<bool> talks_within(std::chrono::milliseconds span);
  // Writes all of `data` within `timeout`; false if the peer is gone or too slow.
  awaitable<bool> write(std::string_view data, std::chrono::seconds timeout);

  // Has the kernel acknowledge what was received at once rather than after its delayed-ACK
  // timer (TCP_QUICKACK, Linux). For a server that has read all of something the client
  // sent in pieces and will answer only after the rest: a client with Nagle's algorithm on
  // holds a small last piece until its earlier data is acknowledged, and a delayed ACK makes
  // that ~40 ms each time (an IMAP literal's closing CRLF). Does nothing on other sockets.
  void acknowledge_now();

  // From now on both directions are raw DEFLATE (IMAP COMPRESS, RFC 4978), over TLS if that
  // is on: what is written is compressed batch by batch, what arrives is inflated into
  // input(). Input already buffered is taken as compressed (a client that pipelined past the
  // command sent it so).
  void start_compression();
  bool compressing() const { return inflater_ != nullptr; }

  // TLS handshake as server (implicit TLS, or after the STARTTLS reply). Discards buffered
  // input first. On failure (the error is returned) the connection is unusable.
  awaitable<error_code> start_tls(std::chrono::seconds timeout);

  // Runs the deadline watchdog until close(); spawned by the server beside the session.
  awaitable<void> watchdog();

  // Call on the connection's executor.
  void request_shutdown();
  bool shutdown_requested() const { return shutdown_requested_; }
  void close();

 private:
  void set_deadline(Clock::time_point& which, Clock::time_point deadline);
  ReadStatus status_of(const error_code& ec);

  std::shared_ptr<ssl::context> tls_context_;  // outlives tls_
  StreamSocket socket_;
  std::unique_ptr<TlsStream> tls_;          // from start_tls() on
  std::unique_ptr<io::Inflater> inflater_;  // from start_compression() on
  std::string compressed_input_;            // received, not yet inflated
  bool inflated_pending_ = false;           // zlib may hold inflated bytes input() had no room for
  asio::steady_timer watchdog_timer_;
  Clock::time_point deadline_ = Clock::time_point::max();  // the earlier of the two below
  Clock::time_point read_deadline_ = Clock::time_point::max();
  Clock::time_point write_deadline_ = Clock::time_point::max();
  std::string session_id_;
  tcp::endpoint remote_;
  tcp::endpoint local_;
  std::optional<LocalPeer> local_peer_;
  io::LineReader input_;
  bool tls_active_ = false;
  bool timed_out_ = false;
  bool waiting_for_command_ = false;
  bool shutdown_requested_ = false;
  bool closed_ = false;
};

}  // namespace mailstead::net
