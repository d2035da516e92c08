#include "common/text/line_ends.hpp"

#include <cstring>

namespace mailstead::text {

bool has_only_crlf(std::string_view bytes) {
  const char* p = bytes.data();
  const char* end = p + bytes.size();
  // memchr keeps the common case (a message that is already clean) at memory speed.
  while (const void* hit = std::memchr(p, '\n', static_cast<std::size_t>(end - p))) {
    auto* lf = static_cast<const char*>(hit);
    if (lf == bytes.data() || lf[-1] != '\r') return false;
    p = lf + 1;
  }
  p = bytes.data();
  while (const void* hit = std::memchr(p, '\r', static_cast<std::size_t>(end - p))) {
    auto* cr = static_cast<const char*>(hit);
    if (cr + 1 == end || cr[1] != '\n') return false;
    p = cr + 1;
  }
  return true;
}

std::string to_crlf(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() + bytes.size() / 32);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    char c = bytes[i];
    if (c == '\r') {
      out += "\r\n";
      if (i + 1 < bytes.size() && bytes[i + 1] == '\n') ++i;
    } else if (c == '\n') {
      out += "\r\n";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace mailstead::text
