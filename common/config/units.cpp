#include "common/config/units.hpp"

#include <fmt/format.h>

#include <charconv>
#include <limits>

namespace mailstead::config {
namespace {

// Splits "123X" into 123 and "X"; nullopt when there are no leading digits or they overflow.
std::optional<std::pair<std::uint64_t, std::string_view>> split_number(std::string_view text) {
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end == text.data()) return std::nullopt;
  return std::pair{value, text.substr(static_cast<std::size_t>(end - text.data()))};
}

bool multiply_fits(std::uint64_t value, std::uint64_t factor, std::uint64_t limit) {
  return factor == 0 || value <= limit / factor;
}

}  // namespace

Parsed<std::chrono::seconds> parse_duration(std::string_view text) {
  auto split = split_number(text);
  if (!split)
    return fmt::format("\"{}\" is not a duration; write a number and a unit, like \"30s\", \"5m\", \"1h\" or \"2d\"",
                       text);
  auto [value, unit] = *split;
  std::uint64_t factor = 0;
  if (unit == "s")
    factor = 1;
  else if (unit == "m")
    factor = 60;
  else if (unit == "h")
    factor = 3600;
  else if (unit == "d")
    factor = 86400;
  else
    return fmt::format("\"{}\" has no valid unit; use s, m, h or d, like \"30s\" or \"5m\"", text);
  constexpr std::uint64_t kMax = std::numeric_limits<std::int32_t>::max();
  if (!multiply_fits(value, factor, kMax)) return fmt::format("\"{}\" is too long a duration", text);
  return std::chrono::seconds(static_cast<std::int64_t>(value * factor));
}

Parsed<std::uint64_t> parse_size(std::string_view text) {
  auto split = split_number(text);
  if (!split)
    return fmt::format("\"{}\" is not a size; write a number of bytes, optionally with K, M or G, like \"50M\"", text);
  auto [value, unit] = *split;
  std::uint64_t factor = 0;
  if (unit.empty())
    factor = 1;
  else if (unit == "K")
    factor = 1024;
  else if (unit == "M")
    factor = std::uint64_t{1} << 20;
  else if (unit == "G")
    factor = std::uint64_t{1} << 30;
  else
    return fmt::format("\"{}\" has no valid unit; use K, M or G (powers of 1024), like \"50M\"", text);
  if (!multiply_fits(value, factor, std::numeric_limits<std::int64_t>::max()))
    return fmt::format("\"{}\" is too large", text);
  return value * factor;
}

Parsed<Endpoint> parse_endpoint(std::string_view text) {
  Endpoint endpoint;
  std::string_view port_text;
  if (text.starts_with('[')) {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return fmt::format("\"{}\" is not an address; write an IPv6 address as \"[::1]:143\"", text);
    endpoint.host = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos || text.find(':') != colon)
      return fmt::format("\"{}\" is not an address; write host:port, like \"0.0.0.0:25\" or \"[::]:25\"", text);
    endpoint.host = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
  }
  if (endpoint.host.empty())
    return fmt::format("\"{}\" has no host; use \"0.0.0.0\" or \"[::]\" for all addresses", text);
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc{} || end != port_text.data() + port_text.size() || port == 0 || port > 65535)
    return fmt::format("\"{}\" has no valid port (1 to 65535)", text);
  endpoint.port = static_cast<std::uint16_t>(port);
  return endpoint;
}

std::string Endpoint::to_string() const {
  if (host.find(':') != std::string::npos) return fmt::format("[{}]:{}", host, port);
  return fmt::format("{}:{}", host, port);
}

std::string format_duration(std::chrono::seconds value) {
  auto s = value.count();
  if (s != 0 && s % 86400 == 0) return fmt::format("{}d", s / 86400);
  if (s != 0 && s % 3600 == 0) return fmt::format("{}h", s / 3600);
  if (s != 0 && s % 60 == 0) return fmt::format("{}m", s / 60);
  return fmt::format("{}s", s);
}

}  // namespace mailstead::config
