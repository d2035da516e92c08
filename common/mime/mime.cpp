#include "common/mime/mime.hpp"

#include <algorithm>

#include "common/text/ascii.hpp"

namespace mailstead::mime {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

bool is_wsp(char c) {
  return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (is_wsp(s.front()) || s.front() == '\r' || s.front() == '\n')) s.remove_prefix(1);
  while (!s.empty() && (is_wsp(s.back()) || s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

// The line starting at `at`: [at, end of line without its terminator), and where the next begins.
struct LineAt {
  std::size_t end;   // before CR LF / LF
  std::size_t next;  // after the terminator
};
LineAt line_at(std::string_view s, std::size_t at) {
  auto lf = s.find('\n', at);
  if (lf == std::string_view::npos) return {s.size(), s.size()};
  return {lf > at && s[lf - 1] == '\r' ? lf - 1 : lf, lf + 1};
}

const std::string* field(const std::vector<HeaderField>& fields, std::string_view name) {
  for (const auto& f : fields)
    if (text::iequals_ascii(f.name, name)) return &f.value;
  return nullptr;
}

std::optional<std::string> optional_field(const std::vector<HeaderField>& fields, std::string_view name) {
  if (auto* v = field(fields, name)) return *v;
  return std::nullopt;
}

// --- structured header values: tokens, parameters -------------------------------------

// Skips whitespace and (nested) comments.
void skip_cfws(std::string_view s, std::size_t& i) {
  while (i < s.size()) {
    if (is_wsp(s[i]) || s[i] == '\r' || s[i] == '\n') {
      ++i;
    } else if (s[i] == '(') {
      int depth = 0;
      for (; i < s.size(); ++i) {
        if (s[i] == '\\') {
          // An unclosed comment runs to the end; a trailing backslash must not step past it.
          if (++i == s.size()) break;
        } else if (s[i] == '(')
          ++depth;
        else if (s[i] == ')' && --depth == 0) {
          ++i;
          break;
        }
      }
    } else {
      break;
    }
  }
}

std::string read_quoted(std::string_view s, std::size_t& i) {
  std::string out;
  for (++i; i < s.size() && s[i] != '"'; ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) ++i;
    out += s[i];
  }
  if (i < s.size()) ++i;
  return out;
}

// A MIME token (RFC 2045 §5.1): up to a tspecial, space or control.
std::string read_token(std::string_view s, std::size_t& i) {
  auto start = i;
  while (i < s.size() && static_cast<unsigned char>(s[i]) > 0x20 &&
         std::string_view("()<>@,;:\\\"/[]?=").find(s[i]) == std::string_view::npos)
    ++i;
  return std::string(s.substr(start, i - start));
}

Parameters parse_parameters(std::string_view s, std::size_t i) {
  Parameters out;
  while (i < s.size()) {
    skip_cfws(s, i);
    if (i < s.size() && s[i] != ';') {  // junk between parameters: skip to the next ';'
      auto semi = s.find(';', i);
      if (semi == std::string_view::npos) break;
      i = semi;
    }
    if (i >= s.size()) break;
    ++i;  // ';'
    skip_cfws(s, i);
    auto name = lower(read_token(s, i));
    skip_cfws(s, i);
    if (name.empty() || i >= s.size() || s[i] != '=') continue;
    ++i;
    skip_cfws(s, i);
    std::string value;
    if (i < s.size() && s[i] == '"') {
      value = read_quoted(s, i);
    } else {
      auto start = i;
      value = read_token(s, i);
      auto after = i;
      skip_cfws(s, after);
      if (after < s.size() && s[after] != ';') {  // lenient: unquoted values that are not tokens
        while (i < s.size() && s[i] != ';') ++i;
        value = std::string(trim(s.substr(start, i - start)));
      }
    }
    out.emplace_back(std::move(name), std::move(value));
  }
  return out;
}

const std::string* parameter(const Parameters& params, std::string_view name) {
  for (const auto& [n, v] : params)
    if (n == name) return &v;
  return nullptr;
}

// --- addresses --------------------------------------------------------------------------

struct Token {
  enum Kind { word, quoted, special, comment } kind;
  std::string text;  // raw for words, unquoted for quoted strings and comments
};

std::vector<Token> address_tokens(std::string_view s) {
  std::vector<Token> out;
  for (std::size_t i = 0; i < s.size();) {
    char c = s[i];
    if (is_wsp(c) || c == '\r' || c == '\n') {
      ++i;
    } else if (c == '"') {
      out.push_back({Token::quoted, read_quoted(s, i)});
    } else if (c == '(') {
      auto start = i;
      skip_cfws(s, i);
      auto inner = s.substr(start + 1, i - start - 1);
      if (inner.ends_with(')')) inner.remove_suffix(1);
      out.push_back({Token::comment, std::string(inner)});
    } else if (std::string_view(",:;<>@.[]").find(c) != std::string_view::npos) {
      if (c == '[') {  // domain literal, kept whole
        auto close = s.find(']', i);
        auto end = close == std::string_view::npos ? s.size() : close + 1;
        out.push_back({Token::word, std::string(s.substr(i, end - i))});
        i = end;
      } else {
        out.push_back({Token::special, std::string(1, c)});
        ++i;
      }
    } else {
      auto start = i;
      while (i < s.size() && !is_wsp(s[i]) && std::string_view("\"(,:;<>@.[]\r\n").find(s[i]) == std::string_view::npos)
        ++i;
      out.push_back({Token::word, std::string(s.substr(start, i - start))});
    }
  }
  return out;
}

class AddressParser {
 public:
  explicit AddressParser(std::vector<Token> tokens) : t_(std::move(tokens)) {}

  std::vector<Address> parse() {
    list(false);
    return std::move(out_);
  }

 private:
  bool at(char special) const {
    return pos_ < t_.size() && t_[pos_].kind == Token::special && t_[pos_].text[0] == special;
  }

  void list(bool in_group) {
    while (pos_ < t_.size()) {
      if (at(',')) {
        ++pos_;
        continue;
      }
      if (in_group && at(';')) return;
      auto before = pos_;
      item(in_group);
      if (pos_ == before) ++pos_;  // a stray special: skip it
    }
  }

  // Raw text of tokens [from, to) as an addr-spec part: words and dots run together.
  std::string raw(std::size_t from, std::size_t to) const {
    std::string out;
    for (auto i = from; i < to; ++i) {
      if (t_[i].kind == Token::comment) continue;
      if (t_[i].kind == Token::quoted)
        out += '"' + t_[i].text + '"';
      else
        out += t_[i].text;
    }
    return out;
  }

  std::string phrase(std::size_t from, std::size_t to) const {
    std::string out;
    for (auto i = from; i < to; ++i) {
      const auto& tok = t_[i];
      if (tok.kind == Token::comment || (tok.kind == Token::special && tok.text != ".")) continue;
      if (!out.empty() && tok.text != "." && !out.ends_with(".")) out += ' ';
      out += tok.text;
    }
    return out;
  }

  std::string last_comment(std::size_t from, std::size_t to) const {
    for (auto i = to; i > from; --i)
      if (t_[i - 1].kind == Token::comment) return t_[i - 1].text;
    return {};
  }

  void item(bool in_group) {
    auto start = pos_;
    while (pos_ < t_.size() && !at(',') && !at(':') && !at('<') && !at(';') && !at('@')) ++pos_;
    if (at(':') && !in_group) {
      auto name = phrase(start, pos_);
      ++pos_;
      out_.push_back({"", "", name, ""});
      list(true);
      if (at(';')) ++pos_;
      out_.push_back({"", "", "", ""});
      return;
    }
    if (at('<')) {
      auto name = phrase(start, pos_);
      ++pos_;
      auto inner = pos_;
      while (pos_ < t_.size() && !at('>')) ++pos_;
      auto close = pos_;
      if (at('>')) ++pos_;
      angle(name, inner, close);
      while (pos_ < t_.size() && !at(',') && !at(';')) ++pos_;  // junk after '>'
      return;
    }
    if (at('@')) {
      auto local = raw(start, pos_);
      ++pos_;
      auto domain_start = pos_;
      while (pos_ < t_.size() && !at(',') && !at(';') && !at('>')) ++pos_;
      out_.push_back({last_comment(domain_start, pos_), "", local, raw(domain_start, pos_)});
      return;
    }
    // Words without "@": a local part alone. Comments alone ("group: (foo) ;") are no address.
    if (auto mailbox = raw(start, pos_); !mailbox.empty()) out_.push_back({"", "", mailbox, "MISSING_DOMAIN"});
  }

  // <[@route,@route:]local@domain>
  void angle(const std::string& name, std::size_t from, std::size_t to) {
    std::string route;
    auto colon = from;
    while (colon < to && !(t_[colon].kind == Token::special && t_[colon].text == ":")) ++colon;
    if (colon < to && from < to && t_[from].kind == Token::special && t_[from].text == "@") {
      route = raw(from, colon);
      from = colon + 1;
    }
    auto at_sign = to;
    for (auto i = to; i > from; --i)
      if (t_[i - 1].kind == Token::special && t_[i - 1].text == "@") {
        at_sign = i - 1;
        break;
      }
    if (at_sign == to) {
      auto mailbox = raw(from, to);
      if (mailbox.empty()) {
        out_.push_back({name, route, "MISSING_MAILBOX", "MISSING_DOMAIN"});  // "<>", a null path
        return;
      }
      out_.push_back({name, route, mailbox, "MISSING_DOMAIN"});
      return;
    }
    out_.push_back({name, route, raw(from, at_sign), raw(at_sign + 1, to)});
  }

  std::vector<Token> t_;
  std::size_t pos_ = 0;
  std::vector<Address> out_;
};

// --- parts ------------------------------------------------------------------------------

// Lines as IMAP servers report them (Dovecot, Cyrus): line ends counted, so a body part
// whose last line runs into the next boundary's CRLF does not count that last line.
std::uint64_t count_lines(std::string_view body) {
  return static_cast<std::uint64_t>(std::count(body.begin(), body.end(), '\n'));
}

Envelope make_envelope(const std::vector<HeaderField>& fields) {
  Envelope e;
  e.date = optional_field(fields, "date");
  e.subject = optional_field(fields, "subject");
  e.in_reply_to = optional_field(fields, "in-reply-to");
  e.message_id = optional_field(fields, "message-id");
  auto list = [&](std::string_view name) {
    auto* v = field(fields, name);
    return v ? parse_address_list(*v) : std::vector<Address>{};
  };
  e.from = list("from");
  e.sender = list("sender");
  e.reply_to = list("reply-to");
  e.to = list("to");
  e.cc = list("cc");
  e.bcc = list("bcc");
  if (e.sender.empty()) e.sender = e.from;
  if (e.reply_to.empty()) e.reply_to = e.from;
  return e;
}

// Offsets of each part between delimiter lines "--boundary" of a multipart body, at most
// `most` of them: the last one then runs to the end of the body (flagged in `cut`).
std::vector<Span> split_multipart(std::string_view bytes, Span body, std::string_view boundary, std::size_t most,
                                  bool& cut) {
  std::vector<Span> parts;
  std::string delimiter = "--" + std::string(boundary);
  std::optional<std::size_t> part_start;
  auto end = body.offset + body.length;
  for (auto at = body.offset; at < end;) {
    auto line = line_at(bytes.substr(0, end), at);
    auto text = bytes.substr(at, line.end - at);
    if (text.starts_with(delimiter)) {
      auto rest = text.substr(delimiter.size());
      bool close = rest.starts_with("--");
      if (close) rest.remove_prefix(2);
      if (trim(rest).empty()) {
        if (part_start) {
          if (parts.size() + 1 == most && !close) {
            cut = true;  // more follow: this part runs to the end of the body
            break;
          }
          // The CRLF before the delimiter belongs to the delimiter (RFC 2046 §5.1.1).
          auto stop = at;
          if (stop > *part_start && bytes[stop - 1] == '\n') --stop;
          if (stop > *part_start && bytes[stop - 1] == '\r') --stop;
          parts.push_back({*part_start, stop - *part_start});
        }
        if (close) return parts;
        part_start = line.next;
      }
    }
    at = line.next;
  }
  if (part_start) parts.push_back({*part_start, end - std::min(end, *part_start)});  // no closing delimiter
  return parts;
}

// What a part costs as stored (the structure record holds each string with a length), so
// that Limits::max_structure_size bounds the record and, within a small factor, the memory
// of the parse.
std::size_t cost_of_parameters(const Parameters& params) {
  std::size_t n = 8;
  for (const auto& [name, value] : params) n += 16 + name.size() + value.size();
  return n;
}

std::size_t cost_of_addresses(const std::vector<Address>& list) {
  std::size_t n = 8;
  for (const auto& a : list) n += sizeof(Address) + a.name.size() + a.route.size() + a.mailbox.size() + a.host.size();
  return n;
}

std::size_t cost_of(const Envelope& e) {
  std::size_t n = 0;
  for (const auto* s : {&e.date, &e.subject, &e.in_reply_to, &e.message_id})
    if (*s) n += (*s)->size();
  for (const auto* list : {&e.from, &e.sender, &e.reply_to, &e.to, &e.cc, &e.bcc}) n += cost_of_addresses(*list);
  return n;
}

std::size_t cost_of(const Part& p) {
  std::size_t n = sizeof(Part);
  for (const auto& f : p.fields) n += sizeof(HeaderField) + f.name.size() + f.value.size();
  n += cost_of_parameters(p.parameters) + cost_of_parameters(p.disposition_parameters);
  for (const auto* s : {&p.id, &p.description, &p.md5, &p.location, &p.disposition})
    if (*s) n += (*s)->size();
  for (const auto& l : p.language) n += sizeof(std::string) + l.size();
  if (p.envelope) n += cost_of(*p.envelope);
  return n;
}

// One parse: the limits and what has been spent of them.
class Parser {
 public:
  Parser(std::string_view bytes, const Limits& limits)
      : bytes_(bytes), limits_(limits), max_depth_(static_cast<int>(std::min(limits.max_depth, kMaxDepth))) {}

  Part message() {
    auto root = entity({0, bytes_.size()}, 0, false);
    root.envelope = make_envelope(root.fields);
    charge(cost_of(*root.envelope));
    return root;
  }

  ParseStats stats() const { return stats_; }

 private:
  bool exhausted() const {
    return stats_.parts >= limits_.max_parts || stats_.structure_size >= limits_.max_structure_size;
  }

  void charge(std::size_t cost) { stats_.structure_size += cost; }

  // The rest of a multipart once a limit is reached: its bytes, unindexed.
  Part opaque(Span span) {
    stats_.summarised = true;
    ++stats_.parts;
    Part part;
    part.header = {span.offset, 0};
    part.body = span;
    part.type = "application";
    part.subtype = "octet-stream";
    charge(cost_of(part));
    return part;
  }

  void children(Part& part, int depth) {
    const auto* boundary = parameter(part.parameters, "boundary");
    std::vector<Span> spans;
    bool cut = false;
    if (boundary && !boundary->empty() && depth < max_depth_) {
      // Each child is at least one part: never split out more than the limit has room for.
      std::size_t room = limits_.max_parts > stats_.parts ? limits_.max_parts - stats_.parts : 0;
      spans = split_multipart(bytes_, part.body, *boundary, std::max<std::size_t>(room, 1), cut);
    }
    if (spans.empty()) {
      // No boundary, too deep, or no delimiter at all: one text/plain part, so that the
      // structure stays well-formed.
      part.type = "text";
      part.subtype = "plain";
      part.parameters = {{"charset", "us-ascii"}};
      part.body_lines = count_lines(part.body.of(bytes_));
      if (depth >= max_depth_ && boundary) stats_.summarised = true;
      return;
    }
    bool digest = part.subtype == "digest";
    for (std::size_t i = 0; i < spans.size(); ++i) {
      bool last = i + 1 == spans.size();
      if (exhausted() || (cut && last)) {
        // This child and every one after it become one opaque part to the end of the body.
        auto end = part.body.offset + part.body.length;
        part.children.push_back(opaque({spans[i].offset, end - spans[i].offset}));
        return;
      }
      part.children.push_back(entity(spans[i], depth + 1, digest));
    }
  }

  Part entity(Span span, int depth, bool digest_child) {
    ++stats_.parts;
    Part part;
    auto view = span.of(bytes_);
    auto header_length = header_end(view);
    part.header = {span.offset, header_length};
    part.body = {span.offset + header_length, span.length - header_length};
    part.fields = parse_header_fields(view.substr(0, header_length), limits_);
    if (header_length > limits_.max_header_size) stats_.summarised = true;
    if (digest_child) part.type = "message", part.subtype = "rfc822";
    if (auto* ct = field(part.fields, "content-type")) {
      std::string type, subtype;
      Parameters params;
      parse_content_type(*ct, type, subtype, params);
      if (!type.empty() && !subtype.empty()) part.type = type, part.subtype = subtype;
      part.parameters = std::move(params);
    }
    if (part.type == "text" && !parameter(part.parameters, "charset"))
      part.parameters.insert(part.parameters.begin(), {"charset", "us-ascii"});
    part.id = optional_field(part.fields, "content-id");
    part.description = optional_field(part.fields, "content-description");
    part.md5 = optional_field(part.fields, "content-md5");
    part.location = optional_field(part.fields, "content-location");
    if (auto* te = field(part.fields, "content-transfer-encoding")) {
      std::size_t i = 0;
      skip_cfws(*te, i);
      auto token = lower(read_token(*te, i));
      if (!token.empty()) part.encoding = token;
    }
    if (auto* cd = field(part.fields, "content-disposition")) {
      std::size_t i = 0;
      skip_cfws(*cd, i);
      auto token = lower(read_token(*cd, i));
      if (!token.empty()) {
        part.disposition = token;
        part.disposition_parameters = parse_parameters(*cd, i);
      }
    }
    if (auto* lang = field(part.fields, "content-language")) {
      std::string_view rest = *lang;
      while (!rest.empty()) {
        auto comma = rest.find(',');
        auto item = trim(rest.substr(0, comma));
        if (!item.empty()) part.language.emplace_back(item);
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
      }
    }
    charge(cost_of(part));
    if (part.is_multipart()) {
      children(part, depth);
    } else if (part.is_message() && (part.encoding == "7bit" || part.encoding == "8bit" || part.encoding == "binary")) {
      if (depth < max_depth_ && !exhausted()) {
        auto inner = entity(part.body, depth + 1, false);
        inner.envelope = make_envelope(inner.fields);
        charge(cost_of(*inner.envelope));
        part.children.push_back(std::move(inner));
      } else {
        stats_.summarised = true;  // an opaque message: no structure of its own (IMAP shows it as a leaf)
      }
      part.body_lines = count_lines(part.body.of(bytes_));
    } else if (part.type == "text" || part.is_message()) {
      part.body_lines = count_lines(part.body.of(bytes_));
    }
    return part;
  }

  std::string_view bytes_;
  const Limits& limits_;
  int max_depth_;
  ParseStats stats_;
};

}  // namespace

std::size_t header_end(std::string_view bytes) {
  for (std::size_t at = 0; at < bytes.size();) {
    auto line = line_at(bytes, at);
    if (line.end == at) return line.next;  // the blank line
    at = line.next;
  }
  return bytes.size();
}

bool FieldReader::next(std::string_view& name, std::string_view& value) {
  while (at_ < block_.size()) {
    auto line = line_at(block_, at_);
    auto text = block_.substr(at_, line.end - at_);
    if (text.empty()) {
      at_ = block_.size();  // the blank line: the header ends
      return false;
    }
    auto start = at_;
    at_ = line.next;
    auto end = line.end;
    // Continuation lines (RFC 5322 §2.2.3) belong to this line, field or not.
    while (at_ < block_.size() && is_wsp(block_[at_])) {
      auto more = line_at(block_, at_);
      end = more.end;
      at_ = more.next;
    }
    auto colon = text.find(':');
    if (is_wsp(text[0]) || colon == std::string_view::npos || colon == 0) continue;  // not a field
    name = text.substr(0, colon);
    while (!name.empty() && is_wsp(name.back())) name.remove_suffix(1);
    auto from = start + colon + 1;
    while (from < end && is_wsp(block_[from])) ++from;
    value = block_.substr(from, end - from);
    return true;
  }
  return false;
}

std::string unfold(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '\n') continue;
    if (value[i] == '\r' && i + 1 < value.size() && value[i + 1] == '\n') continue;
    out += value[i];
  }
  return out;
}

std::vector<HeaderField> parse_header_fields(std::string_view block, const Limits& limits) {
  std::vector<HeaderField> out;
  FieldReader reader(block.substr(0, limits.max_header_size));
  std::string_view name, value;
  while (out.size() < limits.max_header_fields && reader.next(name, value))
    out.push_back({std::string(name), std::string(trim(unfold(value)))});
  return out;
}

void parse_content_type(std::string_view value, std::string& type, std::string& subtype, Parameters& parameters) {
  std::size_t i = 0;
  skip_cfws(value, i);
  type = lower(read_token(value, i));
  skip_cfws(value, i);
  if (i < value.size() && value[i] == '/') {
    ++i;
    skip_cfws(value, i);
    subtype = lower(read_token(value, i));
  } else {
    subtype.clear();
  }
  parameters = parse_parameters(value, i);
}

std::vector<Address> parse_address_list(std::string_view value) {
  return AddressParser(address_tokens(value)).parse();
}

Part parse_message(std::string_view bytes, const Limits& limits, ParseStats* stats) {
  Parser parser(bytes, limits);
  auto root = parser.message();
  if (stats) *stats = parser.stats();
  return root;
}

std::vector<std::string_view> message_ids(std::string_view value) {
  std::vector<std::string_view> out;
  for (std::size_t pos = 0;;) {
    auto open = value.find('<', pos);
    if (open == std::string_view::npos) break;
    auto close = value.find('>', open + 1);
    if (close == std::string_view::npos) break;
    auto id = value.substr(open, close - open + 1);
    if (id.size() > 2 && id.substr(1).find_first_of(" \t\r\n<") == std::string_view::npos) out.push_back(id);
    pos = close + 1;
  }
  return out;
}

}  // namespace mailstead::mime
