#pragma once
// Delivery status notifications (RFC 3464): the message that tells a sender their mail failed
// or is delayed. multipart/report with a text part for people, a message/delivery-status part
// for programs, and the original message's header (RET=HDRS, the default) or the whole
// message (RET=FULL). From MAILER-DAEMON, sent with the null envelope sender so that it can
// never bounce back (RFC 5321 §4.5.5). A pure function.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mailstead::outbound {

enum class DsnAction { failed, delayed };

struct DsnRecipient {
  std::string address;
  std::string orcpt;  // RFC 3461 ORCPT as given ("rfc822;a@b"), or empty
  DsnAction action = DsnAction::failed;
  std::string status;      // RFC 3463, e.g. "5.1.1"
  std::string remote_mta;  // the server that answered, or empty
  std::string diagnostic;  // its reply, e.g. "550 5.1.1 <a@b>: no such user", or what went wrong
  std::int64_t last_attempt = 0;
};

struct DsnInput {
  std::string reporting_mta;  // our host name
  std::string to;             // the original envelope sender
  std::string envid;          // RFC 3461 ENVID, or empty
  std::int64_t arrival = 0;
  std::int64_t now = 0;
  std::int64_t retry_until = 0;  // for delay notices: when the queue gives up
  std::vector<DsnRecipient> recipients;
  bool return_full = false;
  std::string_view original;  // the queued message
  std::string unique;         // makes the boundary and Message-ID unique
};

std::string build_dsn(const DsnInput& input);

// The status code to report for a reply, or a default for failures without one.
std::string dsn_status(int code, std::string_view enhanced, bool permanent);

}  // namespace mailstead::outbound
