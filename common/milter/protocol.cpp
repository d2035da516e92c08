#include "common/milter/protocol.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "common/mime/mime.hpp"
#include "common/text/ascii.hpp"
#include "common/text/line_ends.hpp"

namespace mailstead::milter {
namespace {

void put32(std::string& out, std::uint32_t v) {
  out += static_cast<char>(v >> 24);
  out += static_cast<char>(v >> 16);
  out += static_cast<char>(v >> 8);
  out += static_cast<char>(v);
}

std::uint32_t get32(std::string_view in) {
  return (std::uint32_t{static_cast<unsigned char>(in[0])} << 24) |
         (std::uint32_t{static_cast<unsigned char>(in[1])} << 16) |
         (std::uint32_t{static_cast<unsigned char>(in[2])} << 8) | std::uint32_t{static_cast<unsigned char>(in[3])};
}

void put_string(std::string& out, std::string_view s) {
  // A NUL inside would end the string early at the filter; none of ours has one, but a
  // client's HELO or address must not be able to shift the fields that follow.
  for (char c : s)
    if (c != '\0') out += c;
  out += '\0';
}

// The NUL-terminated strings of a packet's data, in order; nullopt when the last is not ended.
std::optional<std::vector<std::string_view>> strings_of(std::string_view data) {
  std::vector<std::string_view> out;
  while (!data.empty()) {
    auto nul = data.find('\0');
    if (nul == std::string_view::npos) return std::nullopt;
    out.push_back(data.substr(0, nul));
    data.remove_prefix(nul + 1);
  }
  return out;
}

bool is_wsp(char c) {
  return c == ' ' || c == '\t';
}

// "550 5.7.1 Go away" or "451-4.7.1 one\r\n451 4.7.1 two" (SMFIR_REPLYCODE, smfi_setmlreply).
std::optional<CustomReply> parse_custom_reply(std::string_view text) {
  CustomReply out;
  std::string_view expected_code;
  while (!text.empty()) {
    auto eol = text.find("\r\n");
    auto line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 2);
    if (line.size() < 3 || !std::all_of(line.begin(), line.begin() + 3, [](char c) { return c >= '0' && c <= '9'; }))
      return std::nullopt;
    auto code = line.substr(0, 3);
    if (expected_code.empty()) {
      expected_code = code;
      out.code = static_cast<unsigned>((code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0'));
      if (out.code < 400 || out.code > 599) return std::nullopt;  // a filter refuses; it cannot say OK
    } else if (code != expected_code) {
      return std::nullopt;
    }
    line.remove_prefix(3);
    bool last = line.empty() || line[0] == ' ';
    if (!line.empty() && line[0] != ' ' && line[0] != '-') return std::nullopt;
    if (!line.empty()) line.remove_prefix(1);
    if (last != text.empty()) return std::nullopt;  // "550 " ends the reply; "550-" does not
    // RFC 3463 §2: class.subject.detail, the class matching the reply's first digit.
    auto space = line.find(' ');
    auto first = line.substr(0, space);
    auto dots = std::count(first.begin(), first.end(), '.');
    bool enhanced = dots == 2 && first.size() >= 5 && first[0] == expected_code[0] && first[1] == '.' &&
                    std::all_of(first.begin(), first.end(), [](char c) { return c == '.' || (c >= '0' && c <= '9'); });
    if (enhanced) {
      if (out.enhanced.empty()) out.enhanced = std::string(first);
      line = space == std::string_view::npos ? std::string_view{} : line.substr(space + 1);
    }
    for (char c : line)
      if (static_cast<unsigned char>(c) < 32 || c == 127) return std::nullopt;
    out.lines.emplace_back(line);
  }
  if (out.lines.empty()) return std::nullopt;
  return out;
}

// A header value from a filter written as a message wants it: LF folds become CRLF; a line
// that does not start with white space would be a field of its own, and is refused.
std::optional<std::string> field_value(std::string_view value) {
  std::string out;
  out.reserve(value.size() + 8);
  for (std::size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    if (c == '\0') return std::nullopt;
    if (c == '\r') {
      if (i + 1 < value.size() && value[i + 1] == '\n') continue;  // CRLF as sent by some filters
      return std::nullopt;
    }
    if (c == '\n') {
      if (i + 1 >= value.size() || !is_wsp(value[i + 1])) return std::nullopt;
      out += "\r\n";
      continue;
    }
    out += c;
  }
  return out;
}

// One field of a header as kept while edits are made: its bytes, CRLF included, and its name
// (empty for a line that is not a field, which keeps its place but is never counted).
struct RawField {
  std::string name;
  std::string text;
};

std::vector<RawField> split_fields(std::string_view header) {
  std::vector<RawField> out;
  std::size_t at = 0;
  while (at < header.size()) {
    auto start = at;
    do {
      auto eol = header.find('\n', at);
      at = eol == std::string_view::npos ? header.size() : eol + 1;
    } while (at < header.size() && is_wsp(header[at]));
    auto text = header.substr(start, at - start);
    auto colon = text.find(':');
    auto first_eol = text.find('\n');
    RawField field;
    if (colon != std::string_view::npos && colon > 0 && colon < first_eol && !is_wsp(text[0])) {
      auto name = text.substr(0, colon);
      while (!name.empty() && is_wsp(name.back())) name.remove_suffix(1);
      field.name = text::lower_ascii(name);
    }
    field.text = std::string(text);
    if (!field.text.ends_with('\n')) field.text += "\r\n";  // a last line without its CRLF gets one
    out.push_back(std::move(field));
  }
  return out;
}

}  // namespace

std::string packet(char command, std::string_view data) {
  std::string out;
  out.reserve(5 + data.size());
  put32(out, static_cast<std::uint32_t>(data.size() + 1));
  out += command;
  out.append(data);
  return out;
}

std::string options_packet(std::uint32_t version, std::uint32_t actions, std::uint32_t steps) {
  std::string data;
  put32(data, version);
  put32(data, actions);
  put32(data, steps);
  return packet(command::kOptions, data);
}

std::string connect_packet(std::string_view hostname, const Peer& peer) {
  std::string data;
  put_string(data, hostname);
  data += peer.family;
  if (peer.family != 'U') {
    data += static_cast<char>(peer.port >> 8);
    data += static_cast<char>(peer.port & 0xff);
  }
  put_string(data, peer.address);
  return packet(command::kConnect, data);
}

std::string macro_packet(char for_command, const Macros& macros) {
  std::string data(1, for_command);
  for (const auto& [name, value] : macros) {
    put_string(data, name);
    put_string(data, value);
  }
  return packet(command::kMacro, data);
}

std::string strings_packet(char command, const std::vector<std::string>& strings) {
  std::string data;
  for (const auto& s : strings) put_string(data, s);
  return packet(command, data);
}

std::string header_packet(std::string_view name, std::string_view value) {
  std::string data;
  put_string(data, name);
  put_string(data, value);
  return packet(command::kHeader, data);
}

std::variant<Framed, NeedMore, BadPacket> frame(std::string_view buffered) {
  if (buffered.size() < 4) return NeedMore{};
  auto length = get32(buffered);
  if (length == 0) return BadPacket{"a packet of length 0"};
  if (length > kMaxPacket)
    return BadPacket{fmt::format("a packet of {} bytes, more than the {} allowed", length, kMaxPacket)};
  if (buffered.size() - 4 < length) return NeedMore{};
  Framed out;
  out.packet.command = buffered[4];
  out.packet.data = std::string(buffered.substr(5, length - 1));
  out.size = 4 + std::size_t{length};
  return out;
}

std::variant<Reply, BadPacket> parse_reply(const Packet& p) {
  const std::string_view data = p.data;
  auto name_value = [&](std::string_view rest) -> std::optional<std::pair<std::string, std::string>> {
    auto strings = strings_of(rest);
    if (!strings || strings->size() != 2) return std::nullopt;
    return std::pair{std::string((*strings)[0]), std::string((*strings)[1])};
  };
  switch (p.command) {
    case command::kOptions: {
      if (data.size() < 12) return BadPacket{"an options reply shorter than 12 bytes"};
      Negotiated n;
      n.version = get32(data);
      n.actions = get32(data.substr(4));
      n.steps = get32(data.substr(8));
      auto rest = data.substr(12);
      while (!rest.empty()) {  // SMFIM stage, then its macro names (space-separated, NUL-ended)
        if (rest.size() < 5) return BadPacket{"a truncated macro list in the options reply"};
        auto stage = get32(rest);
        rest.remove_prefix(4);
        auto nul = rest.find('\0');
        if (nul == std::string_view::npos) return BadPacket{"an unterminated macro list in the options reply"};
        if (stage < kStages) {
          std::vector<std::string> names;
          auto list = rest.substr(0, nul);
          while (!list.empty()) {
            auto space = list.find(' ');
            auto name = list.substr(0, space);
            if (!name.empty()) names.emplace_back(name);
            list = space == std::string_view::npos ? std::string_view{} : list.substr(space + 1);
          }
          n.macros[stage] = std::move(names);
        }
        rest.remove_prefix(nul + 1);
      }
      return Reply{std::move(n)};
    }
    case 'a':
      return Reply{Verdict{Decision::accept}};
    case 'c':
      return Reply{Verdict{Decision::proceed}};
    case 'r':
      return Reply{Verdict{Decision::reject}};
    case 't':
    case 'f':  // SMFIR_CONN_FAIL and SMFIR_SHUTDOWN: the filter wants the client gone; the
    case '4':  // client is told to come back later
      return Reply{Verdict{Decision::tempfail}};
    case 'd':
      return Reply{Verdict{Decision::discard}};
    case 's':
      return Reply{Verdict{Decision::skip}};
    case 'p':
      return Reply{Progress{}};
    case 'y': {
      auto strings = strings_of(data);
      if (!strings || strings->size() != 1) return BadPacket{"a reply code that is not one string"};
      auto parsed = parse_custom_reply((*strings)[0]);
      if (!parsed) return BadPacket{"a reply code that is not a 4xx or 5xx SMTP reply"};
      return Reply{std::move(*parsed)};
    }
    case 'h': {
      auto nv = name_value(data);
      if (!nv) return BadPacket{"an add-header request that is not a name and a value"};
      return Reply{AddHeader{std::move(nv->first), std::move(nv->second)}};
    }
    case 'i':
    case 'm': {
      if (data.size() < 4) return BadPacket{"a header request without its index"};
      auto index = get32(data);
      auto nv = name_value(data.substr(4));
      if (!nv) return BadPacket{"a header request that is not an index, a name and a value"};
      if (p.command == 'i') return Reply{InsertHeader{index, std::move(nv->first), std::move(nv->second)}};
      return Reply{ChangeHeader{index, std::move(nv->first), std::move(nv->second)}};
    }
    case 'b':
      return Reply{ReplaceBody{std::string(data)}};
    case 'q': {
      auto strings = strings_of(data);
      if (!strings || strings->size() != 1) return BadPacket{"a quarantine request without its reason"};
      return Reply{Quarantine{std::string((*strings)[0])}};
    }
    case '+':
    case '-': {
      auto strings = strings_of(data);
      if (!strings || strings->size() != 1 || (*strings)[0].empty() || (*strings)[0].size() > 512)
        return BadPacket{"a recipient change that is not one address"};
      if (p.command == '+') return Reply{AddRecipient{std::string((*strings)[0])}};
      return Reply{DeleteRecipient{std::string((*strings)[0])}};
    }
    case '2':  // the sender, recipients with parameters, macro lists: not offered
    case 'e':
    case 'l':
      return Reply{Unsupported{p.command}};
    default:
      break;
  }
  return BadPacket{fmt::format("an unknown reply {:#04x}", static_cast<unsigned char>(p.command))};
}

std::vector<std::pair<std::string_view, std::string>> header_fields(std::string_view header_block) {
  std::vector<std::pair<std::string_view, std::string>> out;
  mime::FieldReader reader(header_block);
  std::string_view name, value;
  while (reader.next(name, value)) {
    std::string v;
    v.reserve(value.size());
    for (std::size_t i = 0; i < value.size(); ++i)
      if (!(value[i] == '\r' && i + 1 < value.size() && value[i + 1] == '\n')) v += value[i];
    out.emplace_back(name, std::move(v));
  }
  return out;
}

bool valid_field_name(std::string_view name) {
  // RFC 5322 §3.6.8: printable US-ASCII except the colon.
  return !name.empty() && name.size() <= 200 &&
         std::all_of(name.begin(), name.end(), [](char c) { return c > 32 && c < 127 && c != ':'; });
}

std::variant<std::string, EditError> apply(std::string_view message, const Edits& edits, const EditLimits& limits) {
  auto end = mime::header_end(message);
  auto header = message.substr(0, end);
  std::string_view separator;
  if (header.ends_with("\r\n\r\n")) {
    header.remove_suffix(2);
    separator = "\r\n";
  } else if (header == "\r\n") {
    header = {};
    separator = "\r\n";
  }
  auto fields = split_fields(header);
  auto make = [](std::string_view name, std::string_view value) -> std::variant<RawField, EditError> {
    if (!valid_field_name(name)) return EditError{fmt::format("\"{}\" is not a header field name", name)};
    auto v = field_value(value);
    if (!v) return EditError{fmt::format("the value given for {} would not stay one field", name)};
    return RawField{text::lower_ascii(name), fmt::format("{}: {}\r\n", name, *v)};
  };
  for (const auto& edit : edits.header) {
    if (const auto* add = std::get_if<AddHeader>(&edit)) {
      auto f = make(add->name, add->value);
      if (auto* e = std::get_if<EditError>(&f)) return *e;
      fields.push_back(std::move(std::get<RawField>(f)));
    } else if (const auto* insert = std::get_if<InsertHeader>(&edit)) {
      auto f = make(insert->name, insert->value);
      if (auto* e = std::get_if<EditError>(&f)) return *e;
      // The index counts fields, as the filter was sent them; lines that are not fields are
      // passed over.
      std::size_t at = 0, seen = 0;
      while (at < fields.size() && seen < insert->index) {
        if (!fields[at].name.empty()) ++seen;
        ++at;
      }
      fields.insert(fields.begin() + static_cast<std::ptrdiff_t>(at), std::move(std::get<RawField>(f)));
    } else {
      const auto& change = std::get<ChangeHeader>(edit);
      if (!valid_field_name(change.name))
        return EditError{fmt::format("\"{}\" is not a header field name", change.name)};
      auto wanted = text::lower_ascii(change.name);
      std::uint32_t index = std::max<std::uint32_t>(change.index, 1);
      auto found = fields.end();
      std::uint32_t seen = 0;
      for (auto it = fields.begin(); it != fields.end(); ++it)
        if (it->name == wanted && ++seen == index) {
          found = it;
          break;
        }
      if (change.value.empty()) {
        if (found != fields.end()) fields.erase(found);
        continue;
      }
      auto f = make(change.name, change.value);
      if (auto* e = std::get_if<EditError>(&f)) return *e;
      // libmilter: a change of a field that is not there adds it.
      if (found == fields.end())
        fields.push_back(std::move(std::get<RawField>(f)));
      else
        *found = std::move(std::get<RawField>(f));
    }
  }
  std::string out;
  for (const auto& f : fields) out += f.text;
  if (out.size() > limits.max_header_size)
    return EditError{
        fmt::format("the changed header has {} bytes, more than the {} allowed", out.size(), limits.max_header_size)};
  if (edits.body) {
    out += "\r\n";
    out += text::to_crlf(*edits.body);
  } else {
    out += separator;
    out.append(message.substr(end));
  }
  if (out.size() > limits.max_message_size)
    return EditError{
        fmt::format("the changed message has {} bytes, more than the {} allowed", out.size(), limits.max_message_size)};
  return out;
}

}  // namespace mailstead::milter
