#include "common/spf/record.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "common/dns/message.hpp"
#include "common/text/ascii.hpp"

namespace mailstead::spf {
namespace {

constexpr std::size_t kMaxMacroOutput = 4096;  // far above any name; bounds a hostile record

bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

std::optional<unsigned> parse_cidr(std::string_view digits, unsigned max) {
  // §5.6: ip4-cidr-length = "/" ("0" / %x31-39 0*1DIGIT): no leading zeros.
  if (digits.empty() || digits.size() > 3 || (digits.size() > 1 && digits[0] == '0')) return std::nullopt;
  unsigned v = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec != std::errc{} || end != digits.data() + digits.size() || v > max) return std::nullopt;
  return v;
}

// The position of the first '/' outside a macro ("%{l/}" has one inside), or npos.
std::size_t cidr_start(std::string_view term) {
  bool in_macro = false;
  for (std::size_t i = 0; i < term.size(); ++i) {
    if (term[i] == '%' && i + 1 < term.size() && term[i + 1] == '{') in_macro = true;
    if (term[i] == '}') in_macro = false;
    if (term[i] == '/' && !in_macro) return i;
  }
  return std::string_view::npos;
}

// §5.6 dual-cidr-length: "/4" "//6" or "/4//6".
bool parse_dual_cidr(std::string_view text, Directive& d) {
  if (text.empty()) return true;
  auto six = text.find("//");
  auto four = text.substr(0, six);
  if (!four.empty()) {
    if (four[0] != '/') return false;
    auto v = parse_cidr(four.substr(1), 32);
    if (!v) return false;
    d.cidr4 = *v;
  }
  if (six != std::string_view::npos) {
    auto v = parse_cidr(text.substr(six + 2), 128);
    if (!v) return false;
    d.cidr6 = *v;
  }
  return true;
}

// A domain-spec's syntax: a macro-string that expands (any context will do to check it).
bool valid_domain_spec(std::string_view spec) {
  if (spec.empty()) return false;
  MacroContext probe{"postmaster@example.org", "example.org", std::string(4, '\0'), "example.org", "", 0, ""};
  return expand(spec, probe).has_value();
}

std::string ip_dotted(const std::string& ip, bool nibbles) {
  std::string out;
  if (ip.size() == 4) {
    for (std::size_t i = 0; i < 4; ++i) out += fmt::format("{}{}", i ? "." : "", static_cast<unsigned char>(ip[i]));
    return out;
  }
  if (nibbles) {  // §7.3: "i" of an IPv6 address: each nibble, dot-separated
    for (std::size_t i = 0; i < ip.size(); ++i) {
      auto b = static_cast<unsigned char>(ip[i]);
      out += fmt::format("{}{:x}.{:x}", i ? "." : "", b >> 4, b & 0xF);
    }
    return out;
  }
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(AF_INET6, ip.data(), text, sizeof text);
  return text;
}

std::string url_escape(std::string_view s) {
  // §7.3: uppercase macro letters are URL-escaped (RFC 3986 unreserved characters kept).
  std::string out;
  for (char c : s) {
    if (is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~')
      out += c;
    else
      out += fmt::format("%{:02X}", static_cast<unsigned char>(c));
  }
  return out;
}

}  // namespace

std::string_view to_string(Result result) {
  switch (result) {
    case Result::none:
      return "none";
    case Result::neutral:
      return "neutral";
    case Result::pass:
      return "pass";
    case Result::fail:
      return "fail";
    case Result::softfail:
      return "softfail";
    case Result::temperror:
      return "temperror";
    case Result::permerror:
      return "permerror";
  }
  return "none";
}

Result result_of(Qualifier qualifier) {
  switch (qualifier) {
    case Qualifier::pass:
      return Result::pass;
    case Qualifier::fail:
      return Result::fail;
    case Qualifier::softfail:
      return Result::softfail;
    case Qualifier::neutral:
      return Result::neutral;
  }
  return Result::neutral;
}

bool is_spf_record(std::string_view txt) {
  return txt.size() >= 6 && text::iequals_ascii(txt.substr(0, 6), "v=spf1") && (txt.size() == 6 || txt[6] == ' ');
}

std::variant<Record, std::string> parse_record(std::string_view txt) {
  if (!is_spf_record(txt)) return std::string("not an SPF record");
  Record record;
  std::string_view rest = txt.substr(6);
  while (!rest.empty()) {
    auto space = rest.find(' ');
    auto term = rest.substr(0, space);
    rest = space == std::string_view::npos ? std::string_view{} : rest.substr(space + 1);
    if (term.empty()) continue;  // §4.6.1: terms are separated by one or more spaces
    // §6: a modifier is name "=" macro-string, its name starting with a letter.
    auto eq = term.find('=');
    auto name_end = term.find_first_of(":/");
    if (eq != std::string_view::npos && (name_end == std::string_view::npos || eq < name_end)) {
      auto name = term.substr(0, eq);
      bool valid = !name.empty() && is_alpha(name[0]) && std::all_of(name.begin(), name.end(), [](char c) {
        return is_alpha(c) || is_digit(c) || c == '-' || c == '_' || c == '.';
      });
      if (!valid) return fmt::format("invalid term \"{}\"", term);
      auto value = term.substr(eq + 1);
      if (!expand(value, {"a@b", "b", std::string(4, '\0'), "b", "", 0, ""}, true))
        return fmt::format("invalid macro in \"{}\"", term);
      if (text::iequals_ascii(name, "redirect")) {
        if (record.redirect) return std::string("redirect= twice");  // §6: at most once
        if (!valid_domain_spec(value)) return fmt::format("invalid redirect \"{}\"", value);
        record.redirect = std::string(value);
      } else if (text::iequals_ascii(name, "exp")) {
        if (record.exp) return std::string("exp= twice");
        if (!valid_domain_spec(value)) return fmt::format("invalid exp \"{}\"", value);
        record.exp = std::string(value);
      }  // §6: unknown modifiers are ignored
      continue;
    }
    Directive d;
    if (std::string_view("+-~?").find(term[0]) != std::string_view::npos) {
      d.qualifier = static_cast<Qualifier>(term[0]);
      term.remove_prefix(1);
    }
    auto colon = term.find(':');
    auto slash = cidr_start(term);
    auto name_length = std::min(colon, slash);
    auto mechanism = text::lower_ascii(term.substr(0, name_length));
    std::string_view argument;  // after ':' up to the CIDR
    std::string_view cidr;
    if (colon != std::string_view::npos && colon == name_length) {
      auto after = term.substr(colon + 1);
      auto s = cidr_start(after);
      argument = after.substr(0, s);
      cidr = s == std::string_view::npos ? std::string_view{} : after.substr(s);
    } else if (slash != std::string_view::npos) {
      cidr = term.substr(slash);
    }
    bool has_colon = colon != std::string_view::npos && colon == name_length;
    if (mechanism == "all") {
      if (has_colon || !cidr.empty()) return std::string("all takes no argument");
      d.mechanism = Mechanism::all;
    } else if (mechanism == "include" || mechanism == "exists") {
      if (!has_colon || !cidr.empty() || !valid_domain_spec(argument))
        return fmt::format("invalid {} \"{}\"", mechanism, term);
      d.mechanism = mechanism == "include" ? Mechanism::include : Mechanism::exists;
      d.domain_spec = std::string(argument);
    } else if (mechanism == "a" || mechanism == "mx") {
      if (has_colon && !valid_domain_spec(argument)) return fmt::format("invalid {} \"{}\"", mechanism, term);
      if (!parse_dual_cidr(cidr, d)) return fmt::format("invalid CIDR length in \"{}\"", term);
      d.mechanism = mechanism == "a" ? Mechanism::a : Mechanism::mx;
      d.domain_spec = std::string(argument);
    } else if (mechanism == "ptr") {
      if ((has_colon && !valid_domain_spec(argument)) || !cidr.empty()) return fmt::format("invalid ptr \"{}\"", term);
      d.mechanism = Mechanism::ptr;
      d.domain_spec = std::string(argument);
    } else if (mechanism == "ip4" || mechanism == "ip6") {
      bool v4 = mechanism == "ip4";
      std::string address(argument);
      unsigned char bytes[16] = {};
      if (!has_colon || inet_pton(v4 ? AF_INET : AF_INET6, address.c_str(), bytes) != 1)
        return fmt::format("invalid address in \"{}\"", term);
      d.mechanism = v4 ? Mechanism::ip4 : Mechanism::ip6;
      d.address.assign(reinterpret_cast<const char*>(bytes), v4 ? 4 : 16);
      if (!cidr.empty()) {
        auto length = cidr.size() > 1 && cidr[0] == '/' ? parse_cidr(cidr.substr(1), v4 ? 32 : 128) : std::nullopt;
        if (!length) return fmt::format("invalid CIDR length in \"{}\"", term);
        (v4 ? d.cidr4 : d.cidr6) = *length;
      }
    } else {
      return fmt::format("unknown mechanism \"{}\"", term);  // §5: permerror
    }
    record.directives.push_back(std::move(d));
  }
  return record;
}

std::optional<std::string> expand(std::string_view macro_string, const MacroContext& context, bool explanation) {
  std::string out;
  for (std::size_t i = 0; i < macro_string.size(); ++i) {
    if (out.size() > kMaxMacroOutput) return std::nullopt;
    char c = macro_string[i];
    if (c != '%') {
      // §7.1: macro-literal = %x21-24 / %x26-7E (and spaces only in explanations).
      auto u = static_cast<unsigned char>(c);
      if (u > 0x7E || u < 0x20 || (u == 0x20 && !explanation)) return std::nullopt;
      out += c;
      continue;
    }
    if (++i >= macro_string.size()) return std::nullopt;
    char next = macro_string[i];
    if (next == '%') {
      out += '%';
      continue;
    }
    if (next == '_') {
      out += ' ';
      continue;
    }
    if (next == '-') {
      out += "%20";
      continue;
    }
    if (next != '{') return std::nullopt;
    auto close = macro_string.find('}', i);
    if (close == std::string_view::npos || close == i + 1) return std::nullopt;
    auto body = macro_string.substr(i + 1, close - i - 1);
    i = close;
    char letter = body[0];
    char lower = text::ascii_lower(letter);
    std::string value;
    auto at = context.sender.rfind('@');
    switch (lower) {
      case 's':
        value = context.sender;
        break;
      case 'l':
        value = at == std::string::npos ? "postmaster" : context.sender.substr(0, at);
        if (value.empty()) value = "postmaster";  // §4.3
        break;
      case 'o':
        value = at == std::string::npos ? context.sender : context.sender.substr(at + 1);
        break;
      case 'd':
        value = context.domain;
        break;
      case 'i':
        value = ip_dotted(context.ip, true);
        break;
      case 'p':
        value = context.validated.empty() ? "unknown" : context.validated;
        break;
      case 'v':
        value = context.ip.size() == 4 ? "in-addr" : "ip6";
        break;
      case 'h':
        value = context.helo;
        break;
      case 'c':
      case 'r':
      case 't':
        if (!explanation) return std::nullopt;  // §7.2: only in exp= text
        value = lower == 'c'   ? ip_dotted(context.ip, false)
                : lower == 'r' ? (context.receiver.empty() ? "unknown" : context.receiver)
                               : std::to_string(context.now);
        break;
      default:
        return std::nullopt;
    }
    // Transformers: *DIGIT ["r"], then delimiters.
    std::size_t k = 1;
    std::size_t digits_start = k;
    while (k < body.size() && is_digit(body[k])) ++k;
    std::optional<std::size_t> keep;
    if (k > digits_start) {
      if (k - digits_start > 3) return std::nullopt;
      std::size_t n = 0;
      std::from_chars(body.data() + digits_start, body.data() + k, n);
      if (n == 0) return std::nullopt;  // §7.3: zero is not allowed
      keep = n;
    }
    bool reverse = false;
    if (k < body.size() && (body[k] == 'r' || body[k] == 'R')) {
      reverse = true;
      ++k;
    }
    std::string_view delimiters = body.substr(k);
    if (delimiters.find_first_not_of(".-+,/_=") != std::string_view::npos) return std::nullopt;
    if (delimiters.empty()) delimiters = ".";
    if (keep || reverse || delimiters != ".") {
      std::vector<std::string_view> parts;
      std::string_view v = value;
      while (true) {
        auto p = v.find_first_of(delimiters);
        parts.push_back(v.substr(0, p));
        if (p == std::string_view::npos) break;
        v = v.substr(p + 1);
      }
      if (reverse) std::reverse(parts.begin(), parts.end());
      if (keep && *keep < parts.size()) parts.erase(parts.begin(), parts.end() - static_cast<std::ptrdiff_t>(*keep));
      std::string joined;
      for (std::size_t p = 0; p < parts.size(); ++p) {
        if (p) joined += '.';
        joined += parts[p];
      }
      value = std::move(joined);
    }
    out += letter != lower ? url_escape(value) : value;
  }
  if (out.size() > kMaxMacroOutput) return std::nullopt;
  return out;
}

std::optional<std::string> target_name(std::string expanded) {
  if (!expanded.empty() && expanded.back() == '.') expanded.pop_back();
  // §4.8 / §7.3: too long, the left-hand labels go until it fits.
  while (expanded.size() > kMaxExpansion) {
    auto dot = expanded.find('.');
    if (dot == std::string::npos) return std::nullopt;
    expanded.erase(0, dot + 1);
  }
  if (!dns::valid_query_name(expanded)) return std::nullopt;
  return expanded;
}

}  // namespace mailstead::spf
