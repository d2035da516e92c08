#include "imapd/proto/reader.hpp"

#include <charconv>

#include "common/text/ascii.hpp"

namespace mailstead::imap {

bool is_atom_char(char c) {
  auto u = static_cast<unsigned char>(c);
  if (u <= 0x20 || u >= 0x7f) return false;  // CTL, SP, and 8-bit (not CHAR)
  switch (c) {
    case '(':
    case ')':
    case '{':
    case '%':
    case '*':
    case '"':
    case '\\':
    case ']':
      return false;
    default:
      return true;
  }
}

bool is_astring_char(char c) {
  return c == ']' || is_atom_char(c);
}

void Reader::expect_command_end() {
  if (!at_command_end()) fail(at_end() ? "Missing CRLF" : "Unexpected text after the command");
  pos_ += 2;
}

bool Reader::skip(char c) {
  if (peek() != c || at_end()) return false;
  ++pos_;
  return true;
}

void Reader::expect(char c, const char* what) {
  if (!skip(c)) fail(std::string("Expected ") + what);
}

std::string Reader::atom(bool allow_bracket) {
  auto start = pos_;
  while (!at_end() && (is_atom_char(bytes_[pos_]) || (allow_bracket && bytes_[pos_] == ']'))) ++pos_;
  if (pos_ == start) fail("Expected an atom");
  return std::string(bytes_.substr(start, pos_ - start));
}

bool Reader::word(std::string_view upper_word) {
  auto candidate = bytes_.substr(pos_, upper_word.size());
  if (!text::iequals_ascii(candidate, upper_word)) return false;
  auto after = pos_ + upper_word.size();
  if (after < bytes_.size() && is_atom_char(bytes_[after])) return false;
  pos_ = after;
  return true;
}

std::string Reader::upper_atom() {
  return text::upper_ascii(atom());
}

std::string Reader::astring() {
  if (peek() == '"' || at_literal()) return string();
  return atom(true);
}

std::string Reader::nstring_or_string(bool& was_nil) {
  was_nil = word("NIL");
  return was_nil ? std::string() : string();
}

std::string Reader::string() {
  if (peek() == '"') return quoted();
  if (at_literal()) return literal();
  fail("Expected a string");
}

std::string Reader::quoted() {
  expect('"', "a quoted string");
  std::string out;
  for (;;) {
    if (at_end()) fail("Unterminated quoted string");
    char c = bytes_[pos_++];
    if (c == '"') return out;
    if (c == '\r' || c == '\n' || c == '\0') fail("Line end or NUL inside a quoted string");
    if (c == '\\') {
      if (at_end()) fail("Unterminated quoted string");
      c = bytes_[pos_++];
      if (c != '"' && c != '\\') fail("Only \\\" and \\\\ may be escaped in a quoted string");
    }
    out += c;
  }
}

bool Reader::at_literal() const {
  return peek() == '{' || (peek() == '~' && pos_ + 1 < bytes_.size() && bytes_[pos_ + 1] == '{');
}

std::string Reader::literal(bool allow_literal8) {
  bool literal8 = skip('~');
  if (literal8 && !allow_literal8) fail("A literal8 is not allowed here");
  expect('{', "a literal");
  auto size = number64();
  if (!skip('+')) skip('-');
  expect('}', "\"}\"");
  if (bytes_.substr(pos_, 2) != "\r\n") fail("Expected CRLF after the literal's size");
  pos_ += 2;
  if (bytes_.size() - pos_ < size) fail("Literal shorter than announced");
  auto data = bytes_.substr(pos_, size);
  pos_ += size;
  if (!literal8 && data.find('\0') != std::string_view::npos) fail("NUL in a literal; use literal8");
  return std::string(data);
}

std::string Reader::list_mailbox() {
  if (peek() == '"' || at_literal()) return string();
  auto start = pos_;
  while (!at_end() && (is_astring_char(bytes_[pos_]) || bytes_[pos_] == '%' || bytes_[pos_] == '*')) ++pos_;
  if (pos_ == start) fail("Expected a mailbox pattern");
  return std::string(bytes_.substr(start, pos_ - start));
}

std::uint64_t Reader::number64() {
  auto start = pos_;
  while (!at_end() && bytes_[pos_] >= '0' && bytes_[pos_] <= '9') ++pos_;
  if (pos_ == start) fail("Expected a number");
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(bytes_.data() + start, bytes_.data() + pos_, value);
  if (ec != std::errc() || value > 0x7FFFFFFFFFFFFFFFull) fail("Number too large");
  return value;
}

std::uint32_t Reader::number() {
  auto value = number64();
  if (value > 0xFFFFFFFFu) fail("Number too large");
  return static_cast<std::uint32_t>(value);
}

std::uint32_t Reader::nz_number() {
  auto value = number();
  if (value == 0) fail("Zero is not allowed here");
  return value;
}

SequenceSet Reader::sequence_set() {
  auto start = pos_;
  while (!at_end()) {
    char c = bytes_[pos_];
    if ((c >= '0' && c <= '9') || c == ':' || c == ',' || c == '*' || c == '$')
      ++pos_;
    else
      break;
  }
  auto set = parse_sequence_set(bytes_.substr(start, pos_ - start));
  if (!set) fail("Invalid sequence set");
  return *set;
}

std::string Reader::flag() {
  if (skip('\\')) {
    if (skip('*')) return "\\*";
    return "\\" + atom();
  }
  return atom();
}

std::vector<std::string> Reader::flag_list() {
  expect('(', "a flag list");
  std::vector<std::string> flags;
  if (skip(')')) return flags;
  for (;;) {
    flags.push_back(flag());
    if (skip(')')) return flags;
    space();
  }
}

void Reader::enter() {
  if (++depth_ > kMaxNesting) fail("Too deeply nested");
}

}  // namespace mailstead::imap
