#pragma once
// What smtpd adds to a message before storing it: trace fields (RFC 5321 §4.4) and, for
// submissions, the Date: and Message-ID: a client left out (RFC 6409 §8); and what it reads of
// one (its header's measure, its author domains). Pure functions.

#include <cstddef>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailstead::smtp {

struct ReceivedInfo {
  std::string helo;         // what the client said in EHLO/HELO
  std::string client_ip;    // "192.0.2.7" or "2001:db8::7"
  std::string client_name;  // its forward-confirmed reverse DNS name, when it has one
  std::string hostname;     // ours
  std::string protocol;     // RFC 3848: SMTP, ESMTP, ESMTPS, ESMTPA, ESMTPSA (+ UTF8 forms)
  std::string tls;          // "TLSv1.3 TLS_AES_256_GCM_SHA384", or empty
  std::string id;           // the session id
  std::string for_address;  // set when there is exactly one recipient
  std::time_t when = 0;
  std::string authenticated;          // the user, when the site wants it shown (smtpd.received_shows_user)
  std::optional<unsigned> local_uid;  // a program on this machine (local submission): no client_ip
};

std::string received_field(const ReceivedInfo& info);
std::string rfc5322_date(std::time_t when);  // "Tue, 24 Nov 2026 09:54:29 +0000"

// What smtpd needs to know of a message's header block, counted in one pass that allocates
// nothing whatever the header holds (field names compared case-insensitively).
struct HeaderMeasure {
  std::size_t bytes = 0;  // the header block, its blank line included
  std::size_t fields = 0;
  std::size_t from = 0;
  std::size_t sender = 0;
  std::size_t received = 0;
  std::size_t date = 0;
  std::size_t message_id = 0;
};
HeaderMeasure measure_header(std::string_view message);

// The distinct domains of the From field (RFC 5322 §3.6.2: the authors), A-labels in lower
// case, in order, at most `max`: the domain DKIM signs for and DMARC checks.
std::vector<std::string> author_domains(std::string_view message, std::size_t max);

}  // namespace mailstead::smtp
