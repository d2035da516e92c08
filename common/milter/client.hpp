#pragma once
// One connection to one milter (a content filter speaking the Sendmail milter protocol), for
// one SMTP session: the stages of the session are sent as they happen, and each answer says
// whether the filter lets the session go on.
//
// Implementation notes
// - As Postfix does, one filter connection per SMTP session, negotiated first (version 6).
//   The filter may leave out steps and replies (SMFIP_NO*, SMFIP_NR_*); what it leaves out is
//   not sent or not waited for.
// - Every wait has a deadline: connecting, each command's reply, and the whole of a message's
//   content (headers, body, end of message). SMFIR_PROGRESS pushes the content deadline back,
//   as libmilter's smfi_progress is meant to, but never past four times the content timeout.
// - A failure (refused connection, timeout, a packet that is not the protocol) leaves the
//   client failed for the rest of the session: what that means for the mail is the caller's
//   choice (milter.on_failure).

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/config/config.hpp"
#include "common/milter/protocol.hpp"
#include "common/net/asio.hpp"

namespace mailstead::milter {

using Address = config::MilterAddress;

struct Timeouts {
  std::chrono::seconds connect{10};
  std::chrono::seconds command{30};
  std::chrono::seconds content{300};
};

// What a filter answered a stage.
struct Answer {
  Decision decision = Decision::proceed;
  std::optional<CustomReply> reply;  // its own reply to a reject or tempfail
  std::string failure;               // non-empty: the filter failed (decision is tempfail)
  bool failed() const { return !failure.empty(); }
};

// What a filter made of a whole message.
struct MessageAnswer {
  Answer answer;
  Edits edits;
  std::optional<std::string> quarantine;  // its reason
};

class Client {
 public:
  Client(net::asio::any_io_executor executor, Address address, Timeouts timeouts);
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  const Address& address() const { return address_; }
  bool failed() const { return failed_; }

  // Connects and negotiates, offering `actions`; then the connect stage.
  net::awaitable<Answer> open(std::uint32_t actions, std::string_view hostname, const Peer& peer, const Macros& macros);
  net::awaitable<Answer> helo(std::string_view domain, const Macros& macros);
  net::awaitable<Answer> mail(const std::vector<std::string>& args, const Macros& macros);
  net::awaitable<Answer> rcpt(const std::vector<std::string>& args, const Macros& macros);
  // DATA, the header fields, the end of the header, the body in chunks, the end of the message;
  // `macros` go with DATA and the end of the message. A replaced body may have `max_size` bytes.
  net::awaitable<MessageAnswer> message(std::string_view message, const Macros& macros, std::size_t max_size);
  // The transaction is over without a message (RSET, a refusal): the filter forgets it.
  net::awaitable<void> abort();
  net::awaitable<void> quit();

 private:
  using Clock = std::chrono::steady_clock;

  void arm(Clock::time_point until);
  void disarm();
  net::awaitable<bool> send(std::string bytes, Clock::time_point until);
  // The next reply that is not SMFIR_PROGRESS, each waited for `timeout` at most and none past
  // `latest`; nullopt when the filter failed.
  net::awaitable<std::optional<Reply>> receive(std::chrono::seconds timeout, Clock::time_point latest);
  // One packet of a message's content and, when `reply`, its reply (else a "continue").
  net::awaitable<std::optional<Reply>> exchange(std::string bytes, bool reply, Clock::time_point latest);
  // Macros (those the filter asked for at `stage`, or all), then the command, then its reply
  // unless `no_reply` is among the negotiated steps.
  net::awaitable<Answer> stage(Stage stage, char for_command, const Macros& macros, std::string bytes,
                               std::uint32_t no_reply);
  void send_macros(std::string& out, Stage stage, char for_command, const Macros& macros) const;
  Answer fail(std::string why);
  Answer answer_of(const Reply& reply, std::string_view during);
  bool skipped(std::uint32_t step) const { return (negotiated_.steps & step) != 0; }

  net::StreamSocket socket_;
  net::asio::steady_timer timer_;
  Address address_;
  Timeouts timeouts_;
  Negotiated negotiated_;
  std::string input_;
  std::string failure_;  // what made it fail, for the log
  bool failed_ = false;
  bool open_ = false;
  bool timed_out_ = false;
  bool in_message_ = false;  // MAIL sent, the message not yet ended or aborted
};

}  // namespace mailstead::milter
