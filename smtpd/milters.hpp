#pragma once
// The content filters (milters) of one SMTP session, in the configured order: each stage of
// the session goes to every filter that still wants it, and what they answer becomes the
// session's reply, as Postfix's smtpd_milters do.
//
// Implementation notes
// - A filter that accepts at connect or HELO is done for the session; one that accepts later
//   is done for the message. A reject or tempfail stops the stage at that filter.
// - A filter that fails (milter.on_failure): "tempfail" answers 451 4.7.1 from MAIL on, for
//   the rest of the session, so nothing passes unfiltered; "accept" leaves it out.
// - At the end of a message each filter sees the message as the filters before it left it:
//   their changes are made before the next filter is sent it.
// - A filter's quarantine request, or a junk header (milter.junk_headers) it adds or sets,
//   files the message in the recipients' Junk mailboxes.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/config/config.hpp"
#include "common/milter/client.hpp"
#include "smtpd/proto/reply.hpp"

namespace mailstead::smtp {

struct FilterVerdict {
  enum class Kind { proceed, refuse, discard };
  Kind kind = Kind::proceed;
  Reply reply;  // for refuse: what the client is told
  bool refused() const { return kind == Kind::refuse; }
};

struct FilteredMessage {
  FilterVerdict verdict;
  std::string message;                        // with the filters' changes
  std::string junk_reason;                    // non-empty: into Junk
  std::vector<std::string> added_recipients;  // as the filters sent them ("<a@b>")
  std::vector<std::string> deleted_recipients;
};

class Milters {
 public:
  Milters(net::asio::any_io_executor executor, const config::MilterConfig& config, std::string session_id);
  ~Milters();

  net::awaitable<FilterVerdict> connect(std::string_view client_name, const milter::Peer& peer,
                                        const milter::Macros& macros);
  net::awaitable<FilterVerdict> helo(std::string_view domain, const milter::Macros& macros);
  net::awaitable<FilterVerdict> mail(const std::vector<std::string>& args, const milter::Macros& macros);
  net::awaitable<FilterVerdict> rcpt(const std::vector<std::string>& args, const milter::Macros& macros);
  net::awaitable<FilteredMessage> message(std::string message, const milter::Macros& macros,
                                          const milter::EditLimits& limits);
  // The transaction ended without a message; then the session.
  net::awaitable<void> abort();
  net::awaitable<void> quit();

 private:
  struct Filter;
  enum class Step { helo, mail, rcpt };
  // One stage to every filter that still wants it, until one does not let it pass.
  net::awaitable<FilterVerdict> ask_all(Step step, const std::vector<std::string>& args, const milter::Macros& macros);
  enum class Phase { connect, helo, transaction, content };
  // One answer of one filter, as the session sees it; `during` names the stage for the log.
  FilterVerdict decide(Filter& filter, const milter::Answer& answer, std::string_view during, Phase phase);

  const config::MilterConfig& config_;
  std::string session_id_;
  std::vector<std::unique_ptr<Filter>> filters_;
  bool discard_session_ = false;  // a filter said discard before any transaction
};

// Whether a header field a filter wrote ("X-Spam", "yes") is one of `junk_headers`.
bool is_junk_header(const std::vector<std::string>& junk_headers, std::string_view name, std::string_view value);

}  // namespace mailstead::smtp
