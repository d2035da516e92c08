#pragma once
// SMTP replies: a code, an enhanced status code (RFC 3463, sent when ENHANCEDSTATUSCODES is
// in force, which is always for EHLO clients) and one or more lines of text, serialised with
// the multi-line form of RFC 5321 §4.2.1.

#include <string>
#include <string_view>
#include <vector>

namespace mailstead::smtp {

struct Reply {
  int code = 250;
  std::string enhanced;  // "2.0.0", or empty for replies that take none (220, 221 may, 354 not)
  std::vector<std::string> lines;

  bool positive() const { return code < 400; }
  bool permanent() const { return code >= 500; }
  std::string serialize() const;
  // "550 5.1.1 <a@b>: no such user": the whole reply on one line, for logs, queues and DSNs.
  std::string one_line() const;
};

// A reply's code and enhanced status code together: RFC 5321 §4.2.2-§4.2.3 for the codes,
// RFC 3463 (and the RFC 5248 registry) for the enhanced codes.
struct Status {
  int code = 0;
  std::string_view enhanced;  // empty for replies that take none
};

// What mailstead-smtpd answers, by name.
namespace status {
inline constexpr Status kReady{220, ""};          // the greeting, §4.2
inline constexpr Status kTlsReady{220, "2.0.0"};  // RFC 3207 §4
inline constexpr Status kHelp{214, "2.0.0"};
inline constexpr Status kClosing{221, "2.0.0"};
inline constexpr Status kAuthenticated{235, "2.7.0"};  // RFC 4954 §6
inline constexpr Status kGreeted{250, ""};             // HELO and EHLO
inline constexpr Status kOk{250, "2.0.0"};
inline constexpr Status kSenderOk{250, "2.1.0"};
inline constexpr Status kRecipientOk{250, "2.1.5"};
inline constexpr Status kCannotVerify{252, "2.5.0"};  // §3.5.3
inline constexpr Status kStartData{354, ""};

inline constexpr Status kShuttingDown{421, "4.3.2"};
inline constexpr Status kTimedOut{421, "4.4.2"};
inline constexpr Status kClosingPolicy{421, "4.7.0"};  // too many errors, connections or junk
inline constexpr Status kStoreFailed{451, "4.3.0"};
inline constexpr Status kSendingLimit{451, "4.7.1"};
inline constexpr Status kGreylisted{451, "4.7.1"};         // RFC 6647 §2.1
inline constexpr Status kFilterTempfail{451, "4.7.1"};     // a content filter (milter) said "try later"
inline constexpr Status kFilterUnavailable{451, "4.7.1"};  // a content filter failed (milter.on_failure)
inline constexpr Status kMailboxFull{452, "4.2.2"};
inline constexpr Status kSystemFull{452, "4.3.1"};         // RFC 3463: the disk holding the store is full
inline constexpr Status kTooManyRecipients{452, "4.5.3"};  // §4.5.3.1.10
inline constexpr Status kAuthLocked{454, "4.7.0"};         // RFC 4954 §6

inline constexpr Status kUnrecognized{500, "5.5.2"};  // unknown command, bad line
inline constexpr Status kBadArguments{501, "5.5.4"};
inline constexpr Status kBadRecipientSyntax{501, "5.1.3"};
inline constexpr Status kBadSenderSyntax{501, "5.1.7"};
inline constexpr Status kAuthCancelled{501, "5.0.0"};    // RFC 4954 §4
inline constexpr Status kAuthUndecodable{501, "5.5.2"};  // RFC 4954 §4
inline constexpr Status kNotAvailable{502, "5.5.1"};
inline constexpr Status kBadSequence{503, "5.5.1"};
inline constexpr Status kUnknownMechanism{504, "5.5.4"};     // RFC 4954 §4
inline constexpr Status kAuthRequired{530, "5.7.0"};         // RFC 4954 §6
inline constexpr Status kBadCredentials{535, "5.7.8"};       // RFC 4954 §6
inline constexpr Status kEncryptionRequired{538, "5.7.11"};  // RFC 4954 §6
inline constexpr Status kNoSuchUser{550, "5.1.1"};
inline constexpr Status kBadDestination{550, "5.1.2"};
inline constexpr Status kBadContent{550, "5.6.0"};
inline constexpr Status kTooBig{552, "5.3.4"};         // RFC 1870 §6
inline constexpr Status kNeedsSmtputf8{553, "5.6.7"};  // RFC 6531 §3.4
inline constexpr Status kNotYours{553, "5.7.1"};
inline constexpr Status kSpfFail{550, "5.7.23"};
inline constexpr Status kFilterReject{550, "5.7.1"};  // a content filter (milter) refused
inline constexpr Status kNoService{554, "5.7.1"};     // RFC 5321 §3.1: a greeting that refuses service
inline constexpr Status kDmarcReject{
    550, "5.7.1"};  // RFC 7489 §6.7: the domain's reject policy  // RFC 7372 §3.2: SPF validation failed
inline constexpr Status kMailLoop{554, "5.4.6"};
inline constexpr Status kNoRecipients{554, "5.5.1"};
inline constexpr Status kEmptyMessage{554, "5.6.0"};
inline constexpr Status kRelayDenied{554, "5.7.1"};
inline constexpr Status kBadParameter{555, "5.5.4"};
}  // namespace status

Reply reply(Status status, std::string_view text);
// A reply as a server sent it, for the client side and tests.
Reply reply(int code, std::string_view enhanced, std::string_view text);

// The client side: collects the lines of one server reply ("250-a", "250 b"). A line that is
// not a reply line, or whose code differs from the first line's, is malformed: the session
// with that server cannot go on.
class ReplyAssembler {
 public:
  enum class Status { more, done, malformed };
  Status add(std::string_view line);  // without the CRLF
  // The reply once add() said done; the enhanced code is taken from the last line's text
  // when it starts with one ("250 2.1.0 Ok").
  Reply take();

 private:
  Reply reply_;
  bool started_ = false;
};

}  // namespace mailstead::smtp
