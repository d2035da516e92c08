#pragma once
// mailstead-sendmail's pure half: the Sendmail command line (the options cron, mdadm,
// logwatch, PHP's mail() and mutt use) and the message as it goes to mailstead-smtpd's local
// socket. No sockets here, so that every case is a unit test.
//
// Contract
// - parse_options() understands -t, -f/-r SENDER, -F NAME, -i/-oi, -bs, -bm, -C FILE, -N/-R/-V
//   with their arguments, and `--`; other -oX and -odX forms, -v and -U are accepted and have
//   no effect, as with Postfix. -bp (mailq), -bi (newaliases), -bd and -q are refused clearly.
// - prepare_message() reads the message as a program writes it: LF or CRLF line ends (a bare
//   CR becomes a line end too, so that smtpd's bare-CR refusal never hits a local program),
//   a line of a single "." ends the input unless -i; dot-stuffs it for DATA (RFC 5321 §4.5.2);
//   with -t adds the To:, Cc: and Bcc: addresses to the command-line recipients (Postfix's
//   rule) and removes Bcc:; adds a From: of the sender when the message has none.

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace mailstead::sendmail {

enum class Mode { deliver, smtp_on_stdio };

struct Options {
  Mode mode = Mode::deliver;
  bool recipients_from_headers = false;  // -t
  bool dot_ends_input = true;            // cleared by -i / -oi
  std::optional<std::string> sender;     // -f / -r; "" or "<>" is the null sender
  std::string full_name;                 // -F
  std::optional<std::string> config;     // -C
  std::vector<std::string> recipients;
};

struct UsageError {
  std::string text;
};

std::variant<Options, UsageError> parse_options(const std::vector<std::string_view>& args);

struct Prepared {
  std::vector<std::string> recipients;  // command line first, then headers; no duplicates
  std::string data;                     // CRLF, dot-stuffed, ending in CRLF "." CRLF
  bool eight_bit = false;               // a byte above 127 anywhere (BODY=8BITMIME)
};

// `sender` is the envelope sender after qualification (for a missing From:).
Prepared prepare_message(std::string_view input, const Options& options, std::string_view sender);

// "root" -> "root@mail.example.com"; an address with a domain is kept. "<a@b>" loses its
// brackets.
std::string qualify(std::string_view address, std::string_view domain);

// Whether an address needs SMTPUTF8 (a byte above 127).
bool needs_smtputf8(std::string_view address);

}  // namespace mailstead::sendmail
