#include "smtpd/proto/command.hpp"

#include <array>
#include <charconv>

#include "common/command_table.hpp"
#include "common/text/ascii.hpp"
#include "common/text/utf8.hpp"

namespace mailstead::smtp {
namespace {

using text::iequals_ascii;

bool starts_with_icase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals_ascii(s.substr(0, prefix.size()), prefix);
}

bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_non_ascii(char c) {
  return static_cast<unsigned char>(c) >= 0x80;
}

// RFC 5322 atext, plus UTF-8 (RFC 6531) which the caller validates as a whole.
bool is_atext(char c) {
  return is_alpha(c) || is_digit(c) || is_non_ascii(c) ||
         std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos;
}

SyntaxError syntax(Status status, std::string text) {
  return {status.code, std::string(status.enhanced), std::move(text)};
}

bool valid_dot_string(std::string_view s) {
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '.') {
      if (s[i + 1] == '.') return false;
    } else if (!is_atext(s[i])) {
      return false;
    }
  }
  return true;
}

// The end of a quoted-string starting at s[0] == '"', or npos.
std::size_t quoted_end(std::string_view s) {
  for (std::size_t i = 1; i < s.size(); ++i) {
    if (s[i] == '\\') {
      if (++i >= s.size()) return std::string_view::npos;
      auto c = static_cast<unsigned char>(s[i]);
      if (c < 0x20 || c == 0x7f) return std::string_view::npos;  // quoted-pairSMTP: %d32-126
    } else if (s[i] == '"') {
      return i;
    } else if (static_cast<unsigned char>(s[i]) < 0x20 || s[i] == 0x7f) {
      return std::string_view::npos;
    }
  }
  return std::string_view::npos;
}

bool valid_sub_domain(std::string_view label) {
  if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
  for (char c : label)
    if (!is_alpha(c) && !is_digit(c) && c != '-' && !is_non_ascii(c)) return false;
  return true;
}

std::optional<std::uint64_t> parse_number(std::string_view text) {
  std::uint64_t v = 0;
  if (text.empty() || text.size() > 20) return std::nullopt;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return v;
}

// "<path>" possibly followed by " params"; returns the path text (without brackets) and the rest.
struct PathAndRest {
  std::string_view path;
  std::string_view rest;
};
std::optional<PathAndRest> split_path(std::string_view args) {
  while (!args.empty() && args.front() == ' ') args.remove_prefix(1);  // "MAIL FROM: <a@b>" is common
  if (args.empty() || args.front() != '<') return std::nullopt;
  // Find the closing '>' outside a quoted local part.
  std::size_t i = 1;
  while (i < args.size() && args[i] != '>') {
    if (args[i] == '"') {
      auto end = quoted_end(args.substr(i));
      if (end == std::string_view::npos) return std::nullopt;
      i += end + 1;
    } else {
      ++i;
    }
  }
  if (i >= args.size()) return std::nullopt;
  auto rest = args.substr(i + 1);
  if (!rest.empty() && rest.front() != ' ') return std::nullopt;
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  return PathAndRest{args.substr(1, i - 1), rest};
}

// A-d-l ":" before the mailbox (RFC 5321 §4.1.2): accepted and ignored (§C).
std::optional<std::string_view> strip_source_route(std::string_view path) {
  if (path.empty() || path.front() != '@') return path;
  auto colon = path.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  auto route = path.substr(0, colon);
  while (!route.empty()) {
    if (route.front() != '@') return std::nullopt;
    auto comma = route.find(',');
    if (!valid_domain_or_literal(route.substr(1, comma == std::string_view::npos ? route.npos : comma - 1)))
      return std::nullopt;
    if (comma == std::string_view::npos) break;
    route.remove_prefix(comma + 1);
  }
  return path.substr(colon + 1);
}

template <class Params>
std::optional<SyntaxError> for_each_param(std::string_view rest, Params&& apply) {
  while (!rest.empty()) {
    auto space = rest.find(' ');
    auto item = rest.substr(0, space);
    rest = space == std::string_view::npos ? std::string_view{} : rest.substr(space + 1);
    if (item.empty()) continue;
    auto eq = item.find('=');
    auto keyword = item.substr(0, eq);
    std::optional<std::string_view> value;
    if (eq != std::string_view::npos) value = item.substr(eq + 1);
    if (keyword.empty() || !(is_alpha(keyword[0]) || is_digit(keyword[0])))
      return syntax(status::kBadArguments, "Malformed parameter");
    for (char c : keyword)
      if (!is_alpha(c) && !is_digit(c) && c != '-') return syntax(status::kBadArguments, "Malformed parameter");
    if (value) {
      if (value->empty()) return syntax(status::kBadArguments, "Malformed parameter value");
      for (char c : *value)
        if (static_cast<unsigned char>(c) < 33 || c == '=' || c == 127)
          return syntax(status::kBadArguments, "Malformed parameter value");
    }
    if (auto error = apply(keyword, value)) return error;
  }
  return std::nullopt;
}

Command parse_mail(std::string_view args) {
  if (!starts_with_icase(args, "FROM:")) return syntax(status::kBadArguments, "Syntax: MAIL FROM:<address>");
  auto split = split_path(args.substr(5));
  if (!split) return syntax(status::kBadSenderSyntax, "Bad sender address syntax");
  Mail mail;
  if (!split->path.empty()) {
    auto path = strip_source_route(split->path);
    auto mailbox = path ? parse_mailbox(*path) : std::nullopt;
    if (!mailbox) return syntax(status::kBadSenderSyntax, "Bad sender address syntax");
    mail.sender = std::move(*mailbox);
  }
  auto error = for_each_param(
      split->rest, [&](std::string_view key, std::optional<std::string_view> value) -> std::optional<SyntaxError> {
        if (iequals_ascii(key, "SIZE")) {
          auto n = value ? parse_number(*value) : std::nullopt;
          if (!n) return syntax(status::kBadArguments, "Bad SIZE parameter");
          mail.size = *n;
        } else if (iequals_ascii(key, "BODY")) {
          if (value && iequals_ascii(*value, "7BIT"))
            mail.body = Body::seven_bit;
          else if (value && iequals_ascii(*value, "8BITMIME"))
            mail.body = Body::eight_bit_mime;
          else if (value && iequals_ascii(*value, "BINARYMIME"))
            mail.body = Body::binary_mime;
          else
            return syntax(status::kBadArguments, "Bad BODY parameter");
        } else if (iequals_ascii(key, "SMTPUTF8")) {
          if (value) return syntax(status::kBadArguments, "SMTPUTF8 takes no value");
          mail.smtputf8 = true;
        } else if (iequals_ascii(key, "RET")) {
          if (value && iequals_ascii(*value, "FULL"))
            mail.ret = Ret::full;
          else if (value && iequals_ascii(*value, "HDRS"))
            mail.ret = Ret::headers;
          else
            return syntax(status::kBadArguments, "Bad RET parameter");
        } else if (iequals_ascii(key, "ENVID")) {
          auto decoded = value ? decode_xtext(*value) : std::nullopt;
          if (!decoded || decoded->size() > 100) return syntax(status::kBadArguments, "Bad ENVID parameter");
          mail.envid = std::move(*decoded);
        } else if (iequals_ascii(key, "AUTH")) {
          // RFC 4954 §5: accepted; smtpd trusts only its own AUTH, never this parameter.
        } else {
          return syntax(status::kBadParameter, "Unsupported parameter " + std::string(key));
        }
        return std::nullopt;
      });
  if (error) return *error;
  if (mail.sender && mail.sender->utf8 && !mail.smtputf8)
    return syntax(status::kNeedsSmtputf8, "Non-ASCII address needs SMTPUTF8");
  return mail;
}

Command parse_rcpt(std::string_view args) {
  if (!starts_with_icase(args, "TO:")) return syntax(status::kBadArguments, "Syntax: RCPT TO:<address>");
  auto split = split_path(args.substr(3));
  if (!split) return syntax(status::kBadRecipientSyntax, "Bad recipient address syntax");
  auto path = strip_source_route(split->path);
  auto mailbox = path ? parse_mailbox(*path) : std::nullopt;
  if (!mailbox) {
    if (iequals_ascii(split->path, "postmaster"))
      mailbox = Mailbox{"postmaster", "", false};  // RFC 5321 §4.1.1.3
    else
      return syntax(status::kBadRecipientSyntax, "Bad recipient address syntax");
  }
  Rcpt rcpt{std::move(*mailbox), 0, {}};
  auto error = for_each_param(
      split->rest, [&](std::string_view key, std::optional<std::string_view> value) -> std::optional<SyntaxError> {
        if (iequals_ascii(key, "NOTIFY")) {
          if (!value) return syntax(status::kBadArguments, "Bad NOTIFY parameter");
          std::string_view list = *value;
          std::uint8_t bits = 0;
          while (!list.empty()) {
            auto comma = list.find(',');
            auto item = list.substr(0, comma);
            if (iequals_ascii(item, "NEVER"))
              bits |= kNotifyNever;
            else if (iequals_ascii(item, "SUCCESS"))
              bits |= kNotifySuccess;
            else if (iequals_ascii(item, "FAILURE"))
              bits |= kNotifyFailure;
            else if (iequals_ascii(item, "DELAY"))
              bits |= kNotifyDelay;
            else
              return syntax(status::kBadArguments, "Bad NOTIFY parameter");
            if (comma == std::string_view::npos) break;
            list.remove_prefix(comma + 1);
          }
          if ((bits & kNotifyNever) && bits != kNotifyNever)
            return syntax(status::kBadArguments, "NOTIFY=NEVER stands alone");
          rcpt.notify = bits;
        } else if (iequals_ascii(key, "ORCPT")) {
          auto decoded = value ? decode_xtext(*value) : std::nullopt;
          if (!decoded || decoded->find(';') == std::string::npos || decoded->size() > 500)
            return syntax(status::kBadArguments, "Bad ORCPT parameter");
          rcpt.orcpt = std::move(*decoded);
        } else {
          return syntax(status::kBadParameter, "Unsupported parameter " + std::string(key));
        }
        return std::nullopt;
      });
  if (error) return *error;
  return rcpt;
}

Command parse_bdat(std::string_view args) {
  auto space = args.find(' ');
  auto size = parse_number(args.substr(0, space));
  if (!size) return syntax(status::kBadArguments, "Syntax: BDAT size [LAST]");
  Bdat bdat{*size, false};
  if (space != std::string_view::npos) {
    if (!iequals_ascii(args.substr(space + 1), "LAST"))
      return syntax(status::kBadArguments, "Syntax: BDAT size [LAST]");
    bdat.last = true;
  }
  return bdat;
}

Command parse_auth(std::string_view args) {
  auto space = args.find(' ');
  Auth auth;
  auth.mechanism = std::string(args.substr(0, space));
  if (auth.mechanism.empty()) return syntax(status::kBadArguments, "Syntax: AUTH mechanism [initial-response]");
  if (space != std::string_view::npos) {
    auto initial = args.substr(space + 1);
    if (initial.empty() || initial.find(' ') != std::string_view::npos)
      return syntax(status::kBadArguments, "Syntax: AUTH mechanism [initial-response]");
    auth.initial_response = std::string(initial);
  }
  return auth;
}

template <typename T>
Command no_arguments(std::string_view, std::string_view args) {
  if (!args.empty()) return syntax(status::kBadArguments, "No arguments allowed");
  return T{};
}

// RFC 5321 §4.1.1.1: HELO and EHLO; some clients add junk after the name.
Command parse_hello(std::string_view name, std::string_view args) {
  while (!args.empty() && args.back() == ' ') args.remove_suffix(1);
  auto domain = args.substr(0, args.find(' '));
  if (domain.empty()) return syntax(status::kBadArguments, "Syntax: " + std::string(name) + " hostname");
  return Ehlo{std::string(domain), name == "EHLO"};
}

Command parse_noop(std::string_view, std::string_view) {
  return Noop{};
}  // §4.1.1.9: an argument is ignored
Command parse_vrfy(std::string_view, std::string_view args) {
  return Vrfy{std::string(args)};
}
Command parse_help(std::string_view, std::string_view) {
  return Help{};
}

// --- the command table ------------------------------------------------------------------------

constexpr unsigned bit(Phase p) {
  return 1U << static_cast<unsigned>(p);
}
constexpr unsigned kAnyPhase = bit(Phase::connected) | bit(Phase::greeted) | bit(Phase::in_transaction);

struct Row {
  CommandInfo info;
  std::size_t alternative;  // the index of the command's type in Command
  unsigned states;          // = info.phases, for common/command_table.hpp
  Command (*parse)(std::string_view name, std::string_view args);
};

constexpr bool kJunk = true;

constexpr CommandInfo any_phase(std::string_view name, bool junk = false) {
  return {name, kAnyPhase, junk, {}, {}};
}

// Accepted in one phase only; the texts of the 503 before it and after it.
constexpr CommandInfo in_phase(std::string_view name, Phase phase, std::string_view too_early,
                               std::string_view too_late = {}) {
  return {name, bit(phase), false, too_early, too_late};
}

template <typename T>
constexpr Row row(CommandInfo info, Command (*parse)(std::string_view, std::string_view)) {
  return {info, command_table::index_of<T, Command>(), info.phases, parse};
}

// RFC 5321 §4.1.1 and §4.1.4 (order of commands), RFC 3030 BDAT, RFC 3207 STARTTLS, RFC 4954 AUTH.
// BDAT reads its chunk before it may refuse (the client sends it without waiting), and AUTH
// checks the port's offer before the sequence: both check their phase in their handlers.
constexpr std::array kCommands{
    row<Ehlo>(any_phase("EHLO"), parse_hello),
    row<Ehlo>(any_phase("HELO"), parse_hello),
    row<Mail>(in_phase("MAIL", Phase::greeted, "Send EHLO first", "Nested MAIL command"),
              [](std::string_view, std::string_view args) { return parse_mail(args); }),
    row<Rcpt>(in_phase("RCPT", Phase::in_transaction, "Send MAIL first"),
              [](std::string_view, std::string_view args) { return parse_rcpt(args); }),
    row<Data>(in_phase("DATA", Phase::in_transaction, "Send MAIL first"), no_arguments<Data>),
    row<Bdat>(any_phase("BDAT"), [](std::string_view, std::string_view args) { return parse_bdat(args); }),
    row<Rset>(any_phase("RSET", kJunk), no_arguments<Rset>),
    row<Noop>(any_phase("NOOP", kJunk), parse_noop),
    row<Quit>(any_phase("QUIT"), no_arguments<Quit>),
    row<Vrfy>(any_phase("VRFY", kJunk), parse_vrfy),
    row<Help>(any_phase("HELP", kJunk), parse_help),
    row<StartTls>(any_phase("STARTTLS"), no_arguments<StartTls>),
    row<Auth>(any_phase("AUTH"), [](std::string_view, std::string_view args) { return parse_auth(args); }),
};
// SyntaxError, the last alternative, is the parser's own.
static_assert(command_table::describes_every_command(kCommands, std::variant_size_v<Command> - 1));

}  // namespace

bool valid_domain_or_literal(std::string_view text) {
  if (text.empty() || text.size() > 255) return false;
  if (text.front() == '[') {
    if (text.back() != ']' || text.size() < 3) return false;
    for (char c : text.substr(1, text.size() - 2))
      if (static_cast<unsigned char>(c) < 33 || c == '[' || c == ']' || c == '\\' ||
          static_cast<unsigned char>(c) > 126)
        return false;
    return true;
  }
  std::size_t start = 0;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == '.') {
      if (!valid_sub_domain(text.substr(start, i - start))) return false;
      start = i + 1;
    }
  }
  return true;
}

std::optional<Mailbox> parse_mailbox(std::string_view text) {
  if (text.empty() || text.size() > 320) return std::nullopt;
  std::size_t at;
  if (text.front() == '"') {
    auto end = quoted_end(text);
    if (end == std::string_view::npos || end + 1 >= text.size() || text[end + 1] != '@') return std::nullopt;
    at = end + 1;
  } else {
    at = text.find('@');
    if (at == std::string_view::npos || !valid_dot_string(text.substr(0, at))) return std::nullopt;
  }
  auto local = text.substr(0, at);
  auto domain = text.substr(at + 1);
  if (local.size() > std::size_t{64} * 4 || !valid_domain_or_literal(domain)) return std::nullopt;
  if (!text::valid_utf8(text)) return std::nullopt;
  bool utf8 = false;
  for (char c : text) utf8 = utf8 || is_non_ascii(c);
  return Mailbox{std::string(local), std::string(domain), utf8};
}

std::optional<std::string> decode_xtext(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '+') {
      if (i + 2 >= text.size()) return std::nullopt;
      unsigned value = 0;
      auto [end, ec] = std::from_chars(text.data() + i + 1, text.data() + i + 3, value, 16);
      if (ec != std::errc{} || end != text.data() + i + 3) return std::nullopt;
      // RFC 3461 §4.4, §4.2: ENVID and ORCPT carry printable US-ASCII; a NUL, a CR LF or an
      // 8-bit byte would go on into every notice generated for the message.
      if (value < 0x20 || value > 0x7e) return std::nullopt;
      out += static_cast<char>(value);
      i += 2;
    } else if (static_cast<unsigned char>(c) < 33 || static_cast<unsigned char>(c) > 126 || c == '=') {
      return std::nullopt;
    } else {
      out += c;
    }
  }
  return out;
}

Command parse_command(std::string_view line) {
  auto space = line.find(' ');
  auto verb = line.substr(0, space);
  auto args = space == std::string_view::npos ? std::string_view{} : line.substr(space + 1);
  for (const auto& row : kCommands)
    if (iequals_ascii(verb, row.info.name)) return row.parse(row.info.name, args);
  return syntax(status::kUnrecognized, "Command not recognized");
}

const CommandInfo* command_info(const Command& command) {
  const auto* row = command_table::row_of(kCommands, command.index());
  return row ? &row->info : nullptr;
}

}  // namespace mailstead::smtp
