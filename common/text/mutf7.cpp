#include "common/text/mutf7.hpp"

#include <cstdint>
#include <vector>

#include "common/text/utf8.hpp"

namespace mailstead::text {
namespace {

constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

int sextet(char c) {
  auto at = kAlphabet.find(c);
  return at == std::string_view::npos ? -1 : static_cast<int>(at);
}

// Next code point of valid UTF-8 at `i`, advancing it.
std::uint32_t next_code_point(std::string_view s, std::size_t& i) {
  auto c = static_cast<unsigned char>(s[i++]);
  if (c < 0x80) return c;
  int extra = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : 1;
  std::uint32_t cp = c & (0x3f >> extra);
  for (int k = 0; k < extra && i < s.size(); ++k) cp = cp << 6 | (static_cast<unsigned char>(s[i++]) & 0x3f);
  return cp;
}

void flush_shifted(std::string& out, std::vector<std::uint16_t>& units) {
  if (units.empty()) return;
  out += '&';
  std::uint32_t bits = 0;
  int count = 0;
  for (auto u : units) {
    bits = bits << 16 | u;
    count += 16;
    while (count >= 6) {
      count -= 6;
      out += kAlphabet[(bits >> count) & 0x3f];
    }
  }
  if (count > 0) out += kAlphabet[(bits << (6 - count)) & 0x3f];
  out += '-';
  units.clear();
}

}  // namespace

std::string encode_mutf7(std::string_view utf8) {
  std::string out;
  std::vector<std::uint16_t> units;
  for (std::size_t i = 0; i < utf8.size();) {
    auto cp = next_code_point(utf8, i);
    if (cp >= 0x20 && cp <= 0x7e) {
      flush_shifted(out, units);
      out += cp == '&' ? "&-" : std::string(1, static_cast<char>(cp));
    } else if (cp >= 0x10000) {
      cp -= 0x10000;
      units.push_back(static_cast<std::uint16_t>(0xd800 | (cp >> 10)));
      units.push_back(static_cast<std::uint16_t>(0xdc00 | (cp & 0x3ff)));
    } else {
      units.push_back(static_cast<std::uint16_t>(cp));
    }
  }
  flush_shifted(out, units);
  return out;
}

std::optional<std::string> decode_mutf7(std::string_view in) {
  std::string out;
  for (std::size_t i = 0; i < in.size();) {
    char c = in[i];
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u > 0x7e) return std::nullopt;
    if (c != '&') {
      out += c;
      ++i;
      continue;
    }
    auto end = in.find('-', i + 1);
    if (end == std::string_view::npos) return std::nullopt;
    if (end == i + 1) {
      out += '&';
      i = end + 1;
      continue;
    }
    std::uint32_t bits = 0;
    int count = 0;
    std::uint32_t high = 0;  // a pending high surrogate
    bool any = false;
    for (std::size_t k = i + 1; k < end; ++k) {
      int v = sextet(in[k]);
      if (v < 0) return std::nullopt;
      bits = bits << 6 | static_cast<std::uint32_t>(v);
      count += 6;
      if (count < 16) continue;
      count -= 16;
      auto unit = (bits >> count) & 0xffff;
      bits &= (1u << count) - 1;
      any = true;
      if (unit >= 0xd800 && unit <= 0xdbff) {
        if (high) return std::nullopt;
        high = unit;
      } else if (unit >= 0xdc00 && unit <= 0xdfff) {
        if (!high) return std::nullopt;
        append_utf8(out, 0x10000 + ((high - 0xd800) << 10) + (unit - 0xdc00));
        high = 0;
      } else {
        if (high || (unit >= 0x20 && unit <= 0x7e)) return std::nullopt;  // ASCII must not be shifted
        append_utf8(out, unit);
      }
    }
    if (!any || high || count >= 6 || bits != 0) return std::nullopt;  // leftover bits must be zero padding
    i = end + 1;
  }
  return out;
}

}  // namespace mailstead::text
