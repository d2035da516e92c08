#include "smtpd/auth_results.hpp"

#include <fmt/format.h>

#include "common/dkim/canon.hpp"
#include "common/mime/mime.hpp"
#include "common/text/ascii.hpp"

namespace mailstead::smtp {
namespace {

constexpr std::size_t kLineWidth = 76;

// A value as RFC 8601 §2.2 allows it: a token as it is, anything else as a quoted string.
std::string value_text(std::string_view v) {
  bool token = !v.empty();
  for (char c : v) {
    auto u = static_cast<unsigned char>(c);
    if (u <= ' ' || u >= 127 || std::string_view("()<>,;:\\\"/[]?=").find(c) != std::string_view::npos) token = false;
  }
  // pvalue also allows addresses and domains, with '@' and '.'; those are tokens here too.
  if (token) return std::string(v);
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') out += '\\';
    if (c != '\r' && c != '\n') out += c;
  }
  return out + '"';
}

std::string comment(std::string_view text) {
  std::string out = "(";
  for (char c : text) {
    if (c == '(' || c == ')' || c == '\\') out += '\\';
    if (c != '\r' && c != '\n') out += c;
  }
  return out + ')';
}

}  // namespace

std::string authentication_results(std::string_view authserv_id, const std::vector<MethodResult>& results) {
  std::string out = fmt::format("Authentication-Results: {};", authserv_id);
  if (results.empty()) return out + " none\r\n";
  std::size_t line = out.size();
  auto add = [&](const std::string& piece, bool first_of_resinfo) {
    if (first_of_resinfo || line + 1 + piece.size() > kLineWidth) {
      out += "\r\n\t";
      line = 1;
    } else {
      out += ' ';
      ++line;
    }
    out += piece;
    line += piece.size();
  };
  for (std::size_t i = 0; i < results.size(); ++i) {
    const auto& r = results[i];
    add(fmt::format("{}={}", r.method, r.result), true);
    if (!r.reason.empty()) add(comment(r.reason), false);
    for (const auto& [name, value] : r.properties) add(fmt::format("{}={}", name, value_text(value)), false);
    if (i + 1 < results.size()) out += ';';
  }
  return out + "\r\n";
}

std::string authserv_id_of(std::string_view value) {
  std::size_t i = 0;
  // CFWS: whitespace and comments, which nest (RFC 5322 §3.2.2).
  while (i < value.size()) {
    if (text::is_fws(value[i])) {
      ++i;
    } else if (value[i] == '(') {
      int depth = 0;
      for (; i < value.size(); ++i) {
        if (value[i] == '\\') {
          ++i;
        } else if (value[i] == '(') {
          ++depth;
        } else if (value[i] == ')' && --depth == 0) {
          ++i;
          break;
        }
      }
    } else {
      break;
    }
  }
  if (i < value.size() && value[i] == '"') {
    std::string out;
    for (++i; i < value.size() && value[i] != '"'; ++i) {
      if (value[i] == '\\' && i + 1 < value.size()) ++i;
      out += value[i];
    }
    return out;
  }
  auto end = i;
  while (end < value.size() && !text::is_fws(value[end]) && value[end] != ';' && value[end] != '(') ++end;
  return std::string(value.substr(i, end - i));
}

std::size_t strip_our_results(std::string& message, std::string_view authserv_id) {
  auto header = std::string_view(message).substr(0, mime::header_end(message));
  std::vector<std::pair<std::size_t, std::size_t>> cuts;  // offset, length
  for (const auto& field : dkim::split_fields(header)) {
    if (!text::iequals_ascii(field.name, "authentication-results")) continue;
    auto colon = field.raw.find(':');
    if (!text::iequals_ascii(authserv_id_of(field.raw.substr(colon + 1)), authserv_id)) continue;
    auto offset = static_cast<std::size_t>(field.raw.data() - message.data());
    auto length = field.raw.size();
    if (message.compare(offset + length, 2, "\r\n") == 0) length += 2;
    cuts.emplace_back(offset, length);
  }
  for (auto it = cuts.rbegin(); it != cuts.rend(); ++it) message.erase(it->first, it->second);
  return cuts.size();
}

}  // namespace mailstead::smtp
