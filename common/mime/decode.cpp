#include "common/mime/decode.hpp"

#include <iconv.h>

#include <array>
#include <cerrno>

#include "common/text/ascii.hpp"

namespace mailstead::mime {
namespace {

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// RFC 2047 "Q": quoted-printable where "_" is a space.
std::string decode_q(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '_') {
      out += ' ';
    } else if (c == '=' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 && hex_value(text[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

// One encoded word starting at `pos` ("=?cs?E?text?="): its decoded text and where it ends.
std::optional<std::pair<std::string, std::size_t>> encoded_word(std::string_view value, std::size_t pos) {
  if (value.substr(pos, 2) != "=?") return std::nullopt;
  auto q1 = value.find('?', pos + 2);
  if (q1 == std::string_view::npos || q1 + 2 >= value.size() || value[q1 + 2] != '?') return std::nullopt;
  auto end = value.find("?=", q1 + 3);
  if (end == std::string_view::npos) return std::nullopt;
  auto charset = value.substr(pos + 2, q1 - pos - 2);
  if (auto star = charset.find('*'); star != std::string_view::npos)
    charset = charset.substr(0, star);  // RFC 2231 language
  char encoding = text::ascii_upper(value[q1 + 1]);
  auto payload = value.substr(q1 + 3, end - q1 - 3);
  if (payload.find(' ') != std::string_view::npos) return std::nullopt;
  std::string raw;
  if (encoding == 'B')
    raw = decode_base64(payload);
  else if (encoding == 'Q')
    raw = decode_q(payload);
  else
    return std::nullopt;
  return std::pair{to_utf8(charset, raw), end + 2};
}

}  // namespace

bool is_utf8_charset(std::string_view charset) {
  return text::iequals_ascii(charset, "utf-8") || text::iequals_ascii(charset, "utf8") ||
         text::iequals_ascii(charset, "us-ascii") || text::iequals_ascii(charset, "ascii") || charset.empty();
}

std::string decode_base64(std::string_view text) {
  std::string out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t bits = 0;
  int count = 0;
  for (char c : text) {
    if (c == '=') break;
    int v = base64_value(c);
    if (v < 0) continue;
    bits = (bits << 6) | static_cast<std::uint32_t>(v);
    if (++count == 4) {
      out += static_cast<char>((bits >> 16) & 0xFF);
      out += static_cast<char>((bits >> 8) & 0xFF);
      out += static_cast<char>(bits & 0xFF);
      bits = 0;
      count = 0;
    }
  }
  if (count == 2) out += static_cast<char>((bits >> 4) & 0xFF);
  if (count == 3) {
    out += static_cast<char>((bits >> 10) & 0xFF);
    out += static_cast<char>((bits >> 2) & 0xFF);
  }
  return out;
}

// RFC 2045 §6.7, line by line: white space at the end of a line was added in transport and
// goes (rule 3); "=" at the end of a line, after that, is a soft line break (rule 5) and joins
// the line to the next; a line break that is not soft is kept as it was written (CRLF or LF).
std::string decode_quoted_printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  while (!text.empty()) {
    auto lf = text.find('\n');
    auto line = text.substr(0, lf);
    text.remove_prefix(lf == std::string_view::npos ? text.size() : lf + 1);
    std::string_view line_break;
    if (lf != std::string_view::npos) line_break = !line.empty() && line.back() == '\r' ? "\r\n" : "\n";
    if (line_break.size() == 2) line.remove_suffix(1);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
    // A final "=" cannot be part of an "=XX" escape: hex digits end those.
    bool soft = !line.empty() && line.back() == '=';
    if (soft) line.remove_suffix(1);
    for (std::size_t i = 0; i < line.size(); ++i) {
      char c = line[i];
      if (c == '=' && i + 2 < line.size() && hex_value(line[i + 1]) >= 0 && hex_value(line[i + 2]) >= 0) {
        out += static_cast<char>(hex_value(line[i + 1]) * 16 + hex_value(line[i + 2]));
        i += 2;
        continue;
      }
      out += c;  // a malformed "=" is kept as written (§6.7, note 1)
    }
    if (!soft) out += line_break;
  }
  return out;
}

bool is_identity_encoding(std::string_view encoding) {
  return encoding.empty() || text::iequals_ascii(encoding, "7bit") || text::iequals_ascii(encoding, "8bit") ||
         text::iequals_ascii(encoding, "binary");
}

std::optional<std::string> decode_transfer_encoding(std::string_view encoding, std::string_view body) {
  if (is_identity_encoding(encoding)) return std::string(body);
  if (text::iequals_ascii(encoding, "base64")) return decode_base64(body);
  if (text::iequals_ascii(encoding, "quoted-printable")) return decode_quoted_printable(body);
  return std::nullopt;
}

bool known_charset(std::string_view charset) {
  if (is_utf8_charset(charset)) return true;
  iconv_t cd = iconv_open("UTF-8", std::string(charset).c_str());
  if (cd == reinterpret_cast<iconv_t>(-1)) return false;  // NOLINT(performance-no-int-to-ptr): iconv's failure value
  iconv_close(cd);
  return true;
}

std::string to_utf8(std::string_view charset, std::string_view bytes) {
  if (is_utf8_charset(charset)) return std::string(bytes);
  std::string name(charset);
  iconv_t cd = iconv_open("UTF-8", name.c_str());
  if (cd == reinterpret_cast<iconv_t>(-1)) return std::string(bytes);  // NOLINT(performance-no-int-to-ptr): as above
  std::string out;
  std::array<char, 4096> buffer{};
  char* in = const_cast<char*>(bytes.data());  // iconv's interface is not const-correct
  std::size_t in_left = bytes.size();
  while (in_left > 0) {
    char* dst = buffer.data();
    std::size_t dst_left = buffer.size();
    auto rc = iconv(cd, &in, &in_left, &dst, &dst_left);
    out.append(buffer.data(), buffer.size() - dst_left);
    if (rc == static_cast<std::size_t>(-1)) {
      if (errno == E2BIG) continue;
      // An undecodable byte: keep it as it is and go on after it.
      out += *in;
      ++in;
      --in_left;
    }
  }
  iconv_close(cd);
  return out;
}

std::string decode_header_value(std::string_view value) {
  std::string out;
  std::size_t pos = 0;
  std::size_t pending_space_start = std::string::npos;  // white space after an encoded word
  bool after_word = false;
  while (pos < value.size()) {
    if (auto word = encoded_word(value, pos)) {
      if (after_word && pending_space_start != std::string::npos) out.resize(pending_space_start);
      out += word->first;
      pos = word->second;
      after_word = true;
      pending_space_start = std::string::npos;
      continue;
    }
    char c = value[pos++];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      if (after_word && pending_space_start == std::string::npos) pending_space_start = out.size();
    } else {
      after_word = false;
      pending_space_start = std::string::npos;
    }
    out += c;
  }
  return out;
}

}  // namespace mailstead::mime
