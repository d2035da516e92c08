// libFuzzer target: DKIM canonicalisation over any bytes. Relaxed body canonicalisation leaves
// no whitespace at a line's end and no run of it, ends in CRLF when not empty, and honours a
// length limit; header fields are cut from their input; removing b= never adds bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/dkim/canon.hpp"
#include "common/dkim/signer.hpp"

using namespace mailstead::dkim;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  std::string relaxed;
  auto total = canonical_body(bytes, Canon::relaxed, [&](std::string_view p) { relaxed += p; });
  if (total != relaxed.size()) std::abort();
  if (!relaxed.empty() && !relaxed.ends_with("\r\n")) std::abort();
  if (relaxed.find("  ") != std::string::npos || relaxed.find(" \r\n") != std::string::npos ||
      relaxed.find('\t') != std::string::npos || relaxed.ends_with("\r\n\r\n"))
    std::abort();
  std::string cut;
  canonical_body(
      bytes, Canon::relaxed, [&](std::string_view p) { cut += p; }, size / 3);
  if (cut != relaxed.substr(0, size / 3)) std::abort();
  std::string simple;
  canonical_body(bytes, Canon::simple, [&](std::string_view p) { simple += p; });
  if (simple.empty() || !simple.ends_with("\r\n")) std::abort();
  for (const auto& field : split_fields(bytes)) {
    if (field.raw.data() < bytes.data() || field.raw.data() + field.raw.size() > bytes.data() + bytes.size())
      std::abort();
    auto relaxed_field = canonical_field(field, Canon::relaxed);
    if (!relaxed_field.ends_with("\r\n") || relaxed_field.find(':') == std::string::npos) std::abort();
    if (without_b_value(field.raw).size() > field.raw.size()) std::abort();
  }
  return 0;
}
