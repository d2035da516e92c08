#pragma once
// The SMTP client of the queue runner: one session with one server address, delivering one
// message to one or more recipients (RFC 5321, with PIPELINING, SIZE, 8BITMIME, SMTPUTF8,
// STARTTLS and, for a smarthost, AUTH PLAIN).
//
// The outcome says, per recipient, what the server answered, or why the whole session failed
// and whether trying another address or MX can help: a refused connection, a greeting other
// than 220, or a failed TLS handshake is this server's problem; a 5xx to MAIL is the answer
// for every recipient.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/net/asio.hpp"
#include "smtpd/proto/reply.hpp"

namespace mailstead::outbound {

enum class TlsMode {
  opportunistic,  // STARTTLS when offered
  required,       // STARTTLS, or no delivery
  implicit,       // TLS from the first byte (a smarthost on port 465)
};

struct ClientOptions {
  std::string helo;         // our host name
  std::string server_name;  // the MX or smarthost name: SNI and certificate check
  TlsMode tls = TlsMode::opportunistic;
  bool verify_certificate = false;
  std::string auth_user;  // non-empty: AUTH PLAIN after TLS (smarthost)
  std::string auth_password;
  std::chrono::seconds connect_timeout{30};
  std::chrono::seconds command_timeout{300};   // greeting, EHLO, MAIL, RCPT (RFC 5321 §4.5.3.2)
  std::chrono::seconds data_timeout{600};      // the reply after the final dot
  std::chrono::seconds attempt_timeout{1800};  // all of open(), or all of one send()
};

struct Envelope {
  std::string sender;  // empty: <>
  std::vector<std::string> recipients;
  bool smtputf8 = false;   // the envelope or header needs SMTPUTF8
  bool eight_bit = false;  // the body has 8-bit bytes: BODY=8BITMIME
};

struct SessionFailure {
  smtp::Reply reply;          // code 0 when no reply came (connection, timeout, TLS)
  bool try_elsewhere = true;  // another address or MX may do better
  std::string text;           // what happened, for the queue and the bounce
};

struct SessionOutcome {
  std::optional<SessionFailure> failure;  // set: no recipient got an answer of its own
  std::vector<smtp::Reply> recipients;    // otherwise one reply per recipient, in order
  bool tls = false;                       // the message went over TLS
  bool data_sent = false;                 // the message itself went out (a retry could duplicate it)
};

// One connection to one server, kept open for further messages (the queue runner pools idle
// ones per destination address, as Postfix's connection cache does).
class SmtpConnection {
 public:
  SmtpConnection(net::asio::any_io_executor executor, std::shared_ptr<net::ssl::context> tls_context,
                 ClientOptions options);
  ~SmtpConnection();
  SmtpConnection(const SmtpConnection&) = delete;
  SmtpConnection& operator=(const SmtpConnection&) = delete;

  // Connect, greeting, EHLO, STARTTLS, AUTH; a failure says whether another server may help.
  net::awaitable<std::optional<SessionFailure>> open(net::tcp::endpoint server);
  // One message; afterwards the connection is ready for the next one if reusable().
  net::awaitable<SessionOutcome> send(const Envelope& envelope, std::string_view message);
  net::awaitable<void> quit();
  bool reusable() const;
  std::size_t messages_sent() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// open + send + quit on a new connection.
net::awaitable<SessionOutcome> send_message(net::asio::any_io_executor executor, net::tcp::endpoint server,
                                            std::shared_ptr<net::ssl::context> tls_context, ClientOptions options,
                                            const Envelope& envelope, std::string_view message);

// A client TLS context: TLS 1.2+, the system's CA store for verification when asked.
std::shared_ptr<net::ssl::context> make_client_tls_context();

}  // namespace mailstead::outbound
