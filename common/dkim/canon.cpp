#include "common/dkim/canon.hpp"

#include <map>

#include "common/text/ascii.hpp"

namespace mailstead::dkim {
namespace {

bool wsp(char c) {
  return c == ' ' || c == '\t';
}

}  // namespace

std::vector<Field> split_fields(std::string_view header) {
  std::vector<Field> out;
  std::size_t pos = 0;
  while (pos < header.size()) {
    // A field runs to the CRLF that is not followed by whitespace (RFC 5322 §2.2.3).
    std::size_t end = pos;
    for (;;) {
      auto crlf = header.find("\r\n", end);
      if (crlf == std::string_view::npos) {
        end = header.size();
        break;
      }
      end = crlf;
      if (crlf + 2 < header.size() && wsp(header[crlf + 2])) {
        end = crlf + 2;
        continue;
      }
      break;
    }
    auto raw = header.substr(pos, end - pos);
    pos = std::min(header.size(), end + 2);
    if (raw.empty()) break;  // the empty line that ends the header
    auto colon = raw.find(':');
    if (colon == std::string_view::npos) continue;  // not a field: nothing a signature can cover
    auto name = raw.substr(0, colon);
    while (!name.empty() && wsp(name.back())) name.remove_suffix(1);
    out.push_back({name, raw});
  }
  return out;
}

std::string canonical_field(const Field& field, Canon canon) {
  if (canon == Canon::simple) return std::string(field.raw) + "\r\n";
  std::string out = text::lower_ascii(field.name);
  out += ':';
  auto value = field.raw.substr(field.raw.find(':') + 1);
  // Unfold, turn each run of whitespace into one space, drop it at both ends of the value.
  bool pending_space = false;
  bool started = false;
  for (char c : value) {
    if (c == '\r' || c == '\n') continue;
    if (wsp(c)) {
      pending_space = started;
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    started = true;
    out += c;
  }
  out += "\r\n";
  return out;
}

std::uint64_t canonical_body(std::string_view body, Canon canon, const Sink& sink, std::optional<std::uint64_t> limit) {
  std::uint64_t written = 0;
  auto emit = [&](std::string_view piece) {
    written += piece.size();
    if (!limit) return sink(piece);
    if (written - piece.size() >= *limit) return;
    auto room = *limit - (written - piece.size());
    sink(piece.substr(0, static_cast<std::size_t>(std::min<std::uint64_t>(room, piece.size()))));
  };
  std::uint64_t empty_lines = 0;  // held back: empty lines at the end of the body are ignored
  std::size_t pos = 0;
  while (pos < body.size()) {
    auto crlf = body.find("\r\n", pos);
    auto line = body.substr(pos, crlf == std::string_view::npos ? std::string_view::npos : crlf - pos);
    pos = crlf == std::string_view::npos ? body.size() : crlf + 2;
    if (canon == Canon::relaxed) {
      while (!line.empty() && wsp(line.back())) line.remove_suffix(1);
    }
    if (line.empty()) {
      ++empty_lines;
      continue;
    }
    for (; empty_lines > 0; --empty_lines) emit("\r\n");
    if (canon == Canon::simple) {
      emit(line);
    } else {
      std::size_t i = 0;
      while (i < line.size()) {
        if (wsp(line[i])) {
          while (i < line.size() && wsp(line[i])) ++i;
          emit(" ");
          continue;
        }
        auto start = i;
        while (i < line.size() && !wsp(line[i])) ++i;
        emit(line.substr(start, i - start));
      }
    }
    emit("\r\n");  // a last line without CRLF gets one (§3.4.3, §3.4.4)
  }
  // §3.4.3: an empty body is one CRLF when simple; relaxed leaves it empty.
  if (written == 0 && canon == Canon::simple) emit("\r\n");
  return written;
}

std::vector<const Field*> select_fields(const std::vector<Field>& fields, const std::vector<std::string>& names) {
  std::vector<const Field*> out;
  std::map<std::string, std::size_t> used;  // per lower-cased name: how many taken from the bottom
  for (const auto& name : names) {
    auto lower = text::lower_ascii(name);
    auto& taken = used[lower];
    std::size_t seen = 0;
    const Field* pick = nullptr;
    for (auto it = fields.rbegin(); it != fields.rend(); ++it) {
      if (!text::iequals_ascii(it->name, lower)) continue;
      if (seen++ == taken) {
        pick = &*it;
        break;
      }
    }
    ++taken;
    out.push_back(pick);
  }
  return out;
}

}  // namespace mailstead::dkim
