#pragma once
// Parsers for the value forms the config file uses beyond plain TOML types: durations ("30s",
// "5m", "1h", "2d"), byte sizes ("64K", "50M", "1G", binary multiples) and listen endpoints
// ("0.0.0.0:25", "[::1]:143", "localhost:2525"). Pure functions; errors are human sentences.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace mailstead::config {

struct Endpoint {
  std::string host;  // literal IPv4/IPv6 address or host name, without brackets
  std::uint16_t port = 0;

  std::string to_string() const;  // "host:port", IPv6 in brackets
  friend bool operator==(const Endpoint&, const Endpoint&) = default;
};

template <class T>
using Parsed = std::variant<T, std::string>;  // the value, or why the text is not one

// A non-negative whole number followed by one unit: s, m, h or d. "0s" is allowed.
Parsed<std::chrono::seconds> parse_duration(std::string_view text);
// A whole number of bytes, optionally followed by K, M or G (powers of 1024).
Parsed<std::uint64_t> parse_size(std::string_view text);
// host:port; IPv6 literals in brackets; port 1..65535.
Parsed<Endpoint> parse_endpoint(std::string_view text);

std::string format_duration(std::chrono::seconds value);  // the shortest exact form, "90s" or "5m"

}  // namespace mailstead::config
