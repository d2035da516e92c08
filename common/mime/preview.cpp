#include "common/mime/preview.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <utility>

#include "common/mime/decode.hpp"
#include "common/text/ascii.hpp"
#include "common/text/utf8.hpp"

namespace mailstead::mime {
namespace {

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool is_html_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f';
}

// Elements whose content a reader never sees.
bool is_hidden_element(std::string_view name) {
  return name == "script" || name == "style" || name == "head" || name == "title" || name == "template";
}

// Elements that begin a new line where they open and where they close. Looked at for every tag
// of a page: most names fail on their length or first letter before any comparison.
bool is_block_element(std::string_view name) {
  if (name.empty() || name.size() > 7) return false;
  switch (name[0]) {
    case 'p':
      return name == "p" || name == "pre";
    case 'b':
      return name == "br";
    case 'd':
      return name == "div" || name == "dd" || name == "dt";
    case 't':
      return name == "tr" || name == "table";
    case 'l':
      return name == "li";
    case 'u':
      return name == "ul";
    case 'o':
      return name == "ol";
    case 'h':
      return (name.size() == 2 && name[1] >= '1' && name[1] <= '6') || name == "hr" || name == "header";
    case 's':
      return name == "section";
    case 'a':
      return name == "article" || name == "address";
    case 'f':
      return name == "footer";
    default:
      return false;
  }
}

// The named character references mail actually uses; others stay as written.
char32_t named_reference(std::string_view name) {
  static constexpr std::array<std::pair<std::string_view, char32_t>, 28> kNames = {{
      {"amp", U'&'},     {"lt", U'<'},       {"gt", U'>'},       {"quot", U'"'},    {"apos", U'\''},
      {"nbsp", 0xa0},    {"shy", 0xad},      {"zwnj", 0x200c},   {"zwj", 0x200d},   {"copy", 0xa9},
      {"reg", 0xae},     {"trade", 0x2122},  {"hellip", 0x2026}, {"mdash", 0x2014}, {"ndash", 0x2013},
      {"lsquo", 0x2018}, {"rsquo", 0x2019},  {"ldquo", 0x201c},  {"rdquo", 0x201d}, {"laquo", 0xab},
      {"raquo", 0xbb},   {"bull", 0x2022},   {"middot", 0xb7},   {"euro", 0x20ac},  {"pound", 0xa3},
      {"eacute", 0xe9},  {"thinsp", 0x2009}, {"ensp", 0x2002},
  }};
  for (const auto& [n, code] : kNames)
    if (n == name) return code;
  return 0;
}

// A character reference at html[at] ("&..."): the code point and the bytes it spans; {0, 0}
// if it is not one (the "&" is then text).
std::pair<char32_t, std::size_t> character_reference(std::string_view html, std::size_t at) {
  constexpr std::size_t kLongest = 12;  // "&#x0010FFFF;" and the names above fit
  auto semicolon = html.substr(at, kLongest + 1).find(';');
  if (semicolon == std::string_view::npos || semicolon < 2) return {0, 0};
  auto body = html.substr(at + 1, semicolon - 1);
  if (body.front() != '#') return {named_reference(body), semicolon + 1};
  body.remove_prefix(1);
  int base = 10;
  if (!body.empty() && (body.front() == 'x' || body.front() == 'X')) {
    base = 16;
    body.remove_prefix(1);
  }
  if (body.empty()) return {0, 0};
  std::uint32_t code = 0;
  for (char c : body) {
    int digit = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : 99;
    if (digit >= base) return {0, 0};
    code = code * base + digit;
    if (code > 0x10ffff) return {0, 0};
  }
  // HTML turns NUL and surrogates into U+FFFD; a preview has no use for either.
  if (code == 0 || (code >= 0xd800 && code <= 0xdfff)) return {0xfffd, semicolon + 1};
  return {code, semicolon + 1};
}

// Where the tag that starts at html[at] ("<") ends: after its ">", quoted attribute values
// skipped, or the end of the input.
std::size_t tag_end(std::string_view html, std::size_t at) {
  char quote = 0;
  for (std::size_t k = at + 1; k < html.size(); ++k) {
    char c = html[k];
    if (quote != 0) {
      if (c == quote) quote = 0;
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '>') {
      return k + 1;
    }
  }
  return html.size();
}

// After the element `name` that opened before `from`: past its closing tag, or the end.
std::size_t after_closing_tag(std::string_view html, std::size_t from, std::string_view name) {
  for (auto k = html.find("</", from); k != std::string_view::npos; k = html.find("</", k + 2)) {
    auto candidate = html.substr(k + 2, name.size());
    auto next = k + 2 + name.size();
    if (text::iequals_ascii(candidate, name) && (next >= html.size() || !is_alnum(html[next]))) return tag_end(html, k);
  }
  return html.size();
}

// The part a reader sees first (make_preview's contract), or null.
const Part* first_text_part(const Part& part) {
  if (part.disposition == "attachment") return nullptr;
  if (part.is_multipart()) {
    if (part.subtype == "encrypted") return nullptr;  // RFC 1847 §2.2: unreadable without the key
    const Part* html = nullptr;
    for (const auto& child : part.children) {
      const Part* text = first_text_part(child);
      if (text == nullptr) continue;
      if (part.subtype != "alternative" || text->subtype == "plain") return text;
      if (html == nullptr) html = text;
    }
    return html;
  }
  if (part.is_message()) return part.children.empty() ? nullptr : first_text_part(part.children.front());
  if (part.type == "text" && (part.subtype == "plain" || part.subtype == "html")) return &part;
  return nullptr;
}

std::string_view charset_of(const Part& part) {
  for (const auto& [name, value] : part.parameters)
    if (name == "charset") return value;
  return {};
}

// Characters that take no room: soft hyphen, zero-width spaces and joiners, the byte-order
// mark, the combining grapheme joiner. Newsletters pad their hidden preheaders with them.
bool is_invisible(char32_t code) {
  return code == 0xad || code == 0x34f || (code >= 0x200b && code <= 0x200d) || code == 0x2060 || code == 0xfeff;
}

// White space and control characters: each run becomes one space.
bool is_space_like(char32_t code) {
  return code <= 0x20 || (code >= 0x7f && code <= 0xa0) || code == 0x1680 || (code >= 0x2000 && code <= 0x200a) ||
         code == 0x2028 || code == 0x2029 || code == 0x202f || code == 0x205f || code == 0x3000;
}

bool is_signature_separator(std::string_view line) {
  return line == "-- " || line == "--";  // RFC 3676 §4.3, and the same with its space lost
}

bool is_quoted(std::string_view line) {
  auto first = line.find_first_not_of(" \t");
  return first != std::string_view::npos && line[first] == '>';
}

struct Condensed {
  std::string text;
  bool complete = false;  // full, or ended at a signature: more input would not change it
};

// The lines of `text` as a preview: quoted lines out, nothing after a signature, one space
// between words, no invalid UTF-8, at most max_chars code points.
Condensed condense(std::string_view text, std::size_t max_chars) {
  Condensed result;
  auto& out = result.text;
  std::size_t chars = 0;
  bool space = false;
  auto finish = [&result](bool complete) {
    while (!result.text.empty() && result.text.back() == ' ') result.text.pop_back();
    result.complete = complete;
    return std::move(result);
  };
  for (std::size_t start = 0; start < text.size();) {
    auto end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    auto line = text.substr(start, end - start);
    start = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (is_signature_separator(line)) return finish(true);
    space = true;
    if (is_quoted(line)) continue;
    for (std::size_t i = 0; i < line.size();) {
      auto [code, length] = text::decode_utf8(line.substr(i));
      if (length == 0) {  // not UTF-8 whatever the charset said: left out
        ++i;
        continue;
      }
      auto bytes = line.substr(i, length);
      i += length;
      if (is_invisible(code)) continue;
      if (is_space_like(code)) {
        space = true;
        continue;
      }
      if (space && !out.empty()) {
        if (chars + 2 > max_chars) return finish(true);  // a space, then no room for what it separates
        out += ' ';
        ++chars;
      }
      if (chars == max_chars) return finish(true);
      space = false;
      out += bytes;
      ++chars;
    }
  }
  return finish(chars == max_chars);
}

}  // namespace

std::string html_to_text(std::string_view html, std::size_t max_out) {
  std::string out;
  int quote_depth = 0;
  auto new_line = [&out, &quote_depth]() {
    while (!out.empty() && out.back() == ' ') out.pop_back();
    out += '\n';
    if (quote_depth > 0) out += "> ";  // one mark whatever the depth: it only says "quoted"
  };
  std::size_t i = 0;
  while (i < html.size() && out.size() < max_out) {
    char c = html[i];
    if (c == '&') {
      auto [code, length] = character_reference(html, i);
      if (length > 0 && code != 0) {
        text::append_utf8(out, code);
        i += length;
        continue;
      }
      out += c;
      ++i;
      continue;
    }
    if (c != '<') {
      out += is_html_space(c) ? ' ' : c;
      ++i;
      continue;
    }
    if (html.substr(i, 4) == "<!--") {
      auto close = html.find("-->", i + 4);
      i = close == std::string_view::npos ? html.size() : close + 3;
      continue;
    }
    std::size_t j = i + 1;
    bool closing = j < html.size() && html[j] == '/';
    if (closing) ++j;
    std::size_t name_start = j;
    while (j < html.size() && is_alnum(html[j])) ++j;
    if (j == name_start) {
      // "<!DOCTYPE", "<?xml", "</>" are markup; a "<" before anything else is text ("a < b").
      if (j < html.size() && (html[j] == '!' || html[j] == '?' || html[j] == '>')) {
        i = tag_end(html, i);
      } else {
        out += c;
        ++i;
      }
      continue;
    }
    auto name = text::lower_ascii(html.substr(name_start, j - name_start));
    i = tag_end(html, i);
    if (!closing && is_hidden_element(name)) {
      i = after_closing_tag(html, i, name);
      continue;
    }
    if (name == "blockquote") {
      quote_depth = closing ? std::max(quote_depth - 1, 0) : quote_depth + 1;
      new_line();
    } else if (is_block_element(name)) {
      new_line();
    } else if (name == "td" || name == "th") {
      out += ' ';
    }
  }
  if (i < html.size() || out.size() > max_out) {
    // Stopped at the bound (a reference may have gone past it): a character cut in two there
    // is left out.
    out.resize(std::min(out.size(), max_out));
    auto start = out.size();
    while (start > 0 && (static_cast<unsigned char>(out[start - 1]) & 0xc0) == 0x80) --start;
    if (start > 0 && static_cast<unsigned char>(out[start - 1]) >= 0xc0 &&
        text::decode_utf8(std::string_view(out).substr(start - 1)).length == 0)
      out.resize(start - 1);
  }
  return out;
}

std::string make_preview(std::string_view message, const Part& root, const Limits& limits, std::size_t max_chars) {
  const Part* part = first_text_part(root);
  if (part == nullptr || max_chars == 0) return {};
  const auto max_read = static_cast<std::size_t>(limits.max_preview_read);
  auto body = part->body.of(message).substr(0, max_read);
  auto decoded = decode_transfer_encoding(part->encoding, body);
  auto text = to_utf8(charset_of(*part), decoded ? *decoded : body);
  if (part->subtype != "html") return condense(text, max_chars).text;
  // A preview comes from the start of a page: a little of it is turned into text first, and
  // more only when that was not enough (quoted replies). Each round may produce eight times
  // the text of the last, up to max_read: with the defaults at most three rounds (4 KiB, 32 KiB,
  // 256 KiB of text), each linear in what it reads. A 60 KiB newsletter: 235 -> 90 µs.
  for (std::size_t budget = 16 * max_chars;; budget *= 8) {
    budget = std::min(budget, max_read);
    auto plain = html_to_text(text, budget);
    auto preview = condense(plain, max_chars);
    if (preview.complete || plain.size() < budget || budget == max_read) return std::move(preview.text);
  }
}

}  // namespace mailstead::mime
