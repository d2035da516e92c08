// libFuzzer target: SRS addresses a stranger sends bounces to, and senders we rewrite. Reversing
// reads or says why, never returning an address longer than what it was given; a sender we
// rewrite reverses to itself (lower-cased or not) and fits in a path.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

#include "common/srs/srs.hpp"
#include "common/text/ascii.hpp"

using namespace mailstead;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  constexpr std::string_view kSecret = "fuzz secret";
  constexpr std::int64_t kNow = 1796592000;
  auto reversed = srs::reverse(bytes, kSecret, kNow, 21);
  if (auto* address = std::get_if<std::string>(&reversed))
    if (address->size() > bytes.size() + 1) std::abort();
  auto forwarded = srs::forward(bytes, "forwarder.example", kSecret, kNow);
  if (forwarded) {
    if (forwarded->size() > 254) std::abort();
    auto at = forwarded->rfind('@');
    auto back = srs::reverse(std::string_view(*forwarded).substr(0, at), kSecret, kNow, 21);
    auto* original = std::get_if<std::string>(&back);
    if (!original) std::abort();
    // An SRS0 sender comes back as itself at its forwarder; any other as itself.
    if (!text::iequals_ascii(*original, bytes) && !srs::is_srs(bytes.substr(0, bytes.rfind('@')))) std::abort();
  }
  return 0;
}
