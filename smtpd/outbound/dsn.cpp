#include "smtpd/outbound/dsn.hpp"

#include <fmt/format.h>

#include "common/mime/mime.hpp"
#include "smtpd/message_edit.hpp"

namespace mailstead::outbound {
namespace {

std::string date(std::int64_t when) {
  return smtp::rfc5322_date(static_cast<std::time_t>(when));
}

// DSN fields are single lines; a server's reply text could hold anything.
std::string one_line(std::string_view text) {
  std::string out;
  for (char c : text) out += (c == '\r' || c == '\n') ? ' ' : c;
  return out;
}

std::string human_text(const DsnInput& in) {
  bool failed = false;
  for (const auto& r : in.recipients) failed = failed || r.action == DsnAction::failed;
  std::string out = fmt::format("This is the mail system at {}.\r\n\r\n", in.reporting_mta);
  if (failed) {
    out +=
        "Your message could not be delivered to the recipients below. This is a permanent\r\n"
        "error; the message has not been delivered to them and will not be retried.\r\n\r\n";
  } else {
    out +=
        "Your message has not been delivered yet to the recipients below. The mail system\r\n"
        "keeps trying; you do not need to send it again. You will be told if it gives up.\r\n\r\n";
  }
  for (const auto& r : in.recipients) {
    out += fmt::format("<{}>: {}\r\n", r.address, one_line(r.diagnostic));
    if (!r.remote_mta.empty()) out += fmt::format("    (reported by {})\r\n", r.remote_mta);
  }
  return out;
}

std::string status_part(const DsnInput& in) {
  std::string out = fmt::format("Reporting-MTA: dns; {}\r\n", in.reporting_mta);
  if (!in.envid.empty()) out += fmt::format("Original-Envelope-Id: {}\r\n", one_line(in.envid));
  out += fmt::format("Arrival-Date: {}\r\n", date(in.arrival));
  for (const auto& r : in.recipients) {
    out += "\r\n";
    out += fmt::format("Final-Recipient: rfc822; {}\r\n", r.address);
    if (!r.orcpt.empty()) {
      auto semi = r.orcpt.find(';');
      out += semi == std::string::npos
                 ? fmt::format("Original-Recipient: rfc822; {}\r\n", one_line(r.orcpt))
                 : fmt::format("Original-Recipient: {}; {}\r\n", one_line(r.orcpt.substr(0, semi)),
                               one_line(r.orcpt.substr(semi + 1)));
    }
    out += fmt::format("Action: {}\r\n", r.action == DsnAction::failed ? "failed" : "delayed");
    out += fmt::format("Status: {}\r\n", r.status);
    if (!r.remote_mta.empty()) out += fmt::format("Remote-MTA: dns; {}\r\n", r.remote_mta);
    if (!r.diagnostic.empty()) out += fmt::format("Diagnostic-Code: smtp; {}\r\n", one_line(r.diagnostic));
    if (r.last_attempt) out += fmt::format("Last-Attempt-Date: {}\r\n", date(r.last_attempt));
    if (r.action == DsnAction::delayed && in.retry_until)
      out += fmt::format("Will-Retry-Until: {}\r\n", date(in.retry_until));
  }
  return out;
}

}  // namespace

std::string dsn_status(int code, std::string_view enhanced, bool permanent) {
  if (!enhanced.empty() && (enhanced[0] == '4' || enhanced[0] == '5')) {
    std::string s(enhanced);
    s[0] = permanent ? '5' : '4';
    return s;
  }
  if (code >= 500) return "5.0.0";
  if (code >= 400) return permanent ? "5.0.0" : "4.0.0";
  return permanent ? "5.4.7" : "4.4.7";  // no answer at all: delivery time expired / still trying
}

std::string build_dsn(const DsnInput& in) {
  bool failed = false;
  for (const auto& r : in.recipients) failed = failed || r.action == DsnAction::failed;
  auto boundary = fmt::format("=_mailstead_dsn_{}", in.unique);
  std::string out;
  out += fmt::format("From: Mail Delivery System <MAILER-DAEMON@{}>\r\n", in.reporting_mta);
  out += fmt::format("To: <{}>\r\n", in.to);
  out +=
      failed ? "Subject: Undelivered Mail Returned to Sender\r\n" : "Subject: Delayed Mail (still being retried)\r\n";
  out += fmt::format("Date: {}\r\n", date(in.now));
  out += fmt::format("Message-ID: <{}.dsn@{}>\r\n", in.unique, in.reporting_mta);
  out += "Auto-Submitted: auto-replied\r\n";  // RFC 3834: autoresponders must not answer it
  out += "MIME-Version: 1.0\r\n";
  out += fmt::format("Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"{}\"\r\n", boundary);
  out += "\r\nThis is a MIME-formatted delivery status notification.\r\n";
  out += fmt::format("\r\n--{}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
                     boundary);
  out += human_text(in);
  out += fmt::format("\r\n--{}\r\nContent-Type: message/delivery-status\r\n\r\n", boundary);
  out += status_part(in);
  if (in.return_full) {
    out += fmt::format("\r\n--{}\r\nContent-Type: message/rfc822\r\n\r\n", boundary);
    out += in.original;
  } else {
    out += fmt::format("\r\n--{}\r\nContent-Type: text/rfc822-headers\r\n\r\n", boundary);
    out += in.original.substr(0, mime::header_end(in.original));
  }
  if (!out.ends_with("\r\n")) out += "\r\n";
  out += fmt::format("--{}--\r\n", boundary);
  return out;
}

}  // namespace mailstead::outbound
