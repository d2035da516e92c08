#include "imapd/proto/response.hpp"

#include <fmt/format.h>

#include <ctime>

#include "common/text/ascii.hpp"
#include "imapd/proto/message_facts.hpp"
#include "imapd/proto/reader.hpp"

namespace mailstead::imap {
namespace {

bool fits_quoted(std::string_view text, bool utf8) {
  if (text.size() > 1024) return false;
  for (unsigned char c : text)
    if (c < 0x20 || c == 0x7f || (c > 0x7f && !utf8)) return false;
  return true;
}

void append_parameters(std::string& out, const mime::Parameters& parameters) {
  if (parameters.empty()) {
    out += "NIL";
    return;
  }
  out += '(';
  bool first = true;
  for (const auto& [name, value] : parameters) {
    if (!first) out += ' ';
    first = false;
    append_string(out, text::upper_ascii(name));
    out += ' ';
    append_string(out, value);
  }
  out += ')';
}

void append_address_list(std::string& out, const std::vector<mime::Address>& addresses) {
  if (addresses.empty()) {
    out += "NIL";
    return;
  }
  out += '(';
  for (const auto& a : addresses) {
    out += '(';
    append_nstring(out, a.name.empty() ? std::nullopt : std::optional<std::string>(a.name));
    out += ' ';
    append_nstring(out, a.route.empty() ? std::nullopt : std::optional<std::string>(a.route));
    out += ' ';
    append_nstring(out, a.mailbox.empty() ? std::nullopt : std::optional<std::string>(a.mailbox));
    out += ' ';
    append_nstring(out, a.host.empty() ? std::nullopt : std::optional<std::string>(a.host));
    out += ')';
  }
  out += ')';
}

void append_extension(std::string& out, const mime::Part& part) {
  out += ' ';
  if (part.disposition) {
    out += '(';
    append_string(out, text::upper_ascii(*part.disposition));
    out += ' ';
    append_parameters(out, part.disposition_parameters);
    out += ')';
  } else {
    out += "NIL";
  }
  out += ' ';
  if (part.language.empty()) {
    out += "NIL";
  } else {
    out += '(';
    for (std::size_t i = 0; i < part.language.size(); ++i) {
      if (i) out += ' ';
      append_string(out, part.language[i]);
    }
    out += ')';
  }
  out += ' ';
  append_nstring(out, part.location);
}

}  // namespace

void append_string(std::string& out, std::string_view text, bool utf8) {
  if (fits_quoted(text, utf8)) {
    out += '"';
    for (char c : text) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
    return;
  }
  fmt::format_to(std::back_inserter(out), "{{{}}}\r\n", text.size());
  out += text;
}

void append_literal(std::string& out, std::string_view bytes, bool binary) {
  bool nul = binary && bytes.find('\0') != std::string_view::npos;
  fmt::format_to(std::back_inserter(out), "{}{{{}}}\r\n", nul ? "~" : "", bytes.size());
  out += bytes;
}

void append_nstring(std::string& out, const std::optional<std::string>& text) {
  if (text)
    append_string(out, *text);
  else
    out += "NIL";
}

void append_astring(std::string& out, std::string_view text, bool utf8) {
  bool atom = !text.empty() && !text::iequals_ascii(text, "NIL");
  for (char c : text)
    if (!is_astring_char(c)) atom = false;
  if (atom)
    out += text;
  else
    append_string(out, text, utf8);
}

std::string flag_list(std::uint32_t flags, std::span<const std::string> keywords, bool recent) {
  std::string out = "(";
  auto add = [&out](std::string_view flag) {
    if (out.size() > 1) out += ' ';
    out += flag;
  };
  if (flags & kSeen) add("\\Seen");
  if (flags & kAnswered) add("\\Answered");
  if (flags & kFlagged) add("\\Flagged");
  if (flags & kDeleted) add("\\Deleted");
  if (flags & kDraft) add("\\Draft");
  if (recent) add("\\Recent");
  for (const auto& k : keywords) add(k);
  out += ')';
  return out;
}

std::uint32_t system_flag(std::string_view name) {
  if (text::iequals_ascii(name, "\\Seen")) return kSeen;
  if (text::iequals_ascii(name, "\\Answered")) return kAnswered;
  if (text::iequals_ascii(name, "\\Flagged")) return kFlagged;
  if (text::iequals_ascii(name, "\\Deleted")) return kDeleted;
  if (text::iequals_ascii(name, "\\Draft")) return kDraft;
  return 0;
}

std::string format_internal_date(std::int64_t seconds) {
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:02}-{}-{:04} {:02}:{:02}:{:02} +0000", tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900,
                     tm.tm_hour, tm.tm_min, tm.tm_sec);
}

void append_envelope(std::string& out, const mime::Envelope& e) {
  out += '(';
  append_nstring(out, e.date);
  out += ' ';
  append_nstring(out, e.subject);
  out += ' ';
  append_address_list(out, e.from);
  out += ' ';
  append_address_list(out, e.sender.empty() ? e.from : e.sender);
  out += ' ';
  append_address_list(out, e.reply_to.empty() ? e.from : e.reply_to);
  out += ' ';
  append_address_list(out, e.to);
  out += ' ';
  append_address_list(out, e.cc);
  out += ' ';
  append_address_list(out, e.bcc);
  out += ' ';
  append_nstring(out, e.in_reply_to);
  out += ' ';
  append_nstring(out, e.message_id);
  out += ')';
}

void append_body_structure(std::string& out, const mime::Part& part, bool extensible) {
  out += '(';
  if (part.is_multipart()) {
    if (part.children.empty()) {
      // A multipart without parts cannot be written in the grammar (body-type-mpart needs
      // one body); describe it as an empty text part, as other servers do.
      out += R"("text" "plain" NIL NIL NIL "7bit" 0 0)";
    } else {
      for (const auto& child : part.children) append_body_structure(out, child, extensible);
    }
    out += ' ';
    append_string(out, part.subtype);
    if (extensible) {
      out += ' ';
      append_parameters(out, part.parameters);
      append_extension(out, part);
    }
    out += ')';
    return;
  }
  append_string(out, part.type);
  out += ' ';
  append_string(out, part.subtype);
  out += ' ';
  append_parameters(out, part.parameters);
  out += ' ';
  append_nstring(out, part.id);
  out += ' ';
  append_nstring(out, part.description);
  out += ' ';
  append_string(out, part.encoding);
  fmt::format_to(std::back_inserter(out), " {}", part.body.length);
  if (part.is_message() && !part.children.empty()) {
    const auto& inner = part.children.front();
    out += ' ';
    append_envelope(out, inner.envelope ? *inner.envelope : mime::Envelope{});
    out += ' ';
    append_body_structure(out, inner, extensible);
    fmt::format_to(std::back_inserter(out), " {}", part.body_lines);
  } else if (part.type == "text") {
    fmt::format_to(std::back_inserter(out), " {}", part.body_lines);
  }
  if (extensible) {
    out += ' ';
    append_nstring(out, part.md5);
    append_extension(out, part);
  }
  out += ')';
}

}  // namespace mailstead::imap
