// libFuzzer target: SPF records and macros from a stranger's DNS. Parsing never fails other
// than by saying why, a parsed record's CIDR lengths are in range and its addresses the right
// size, and no expansion outgrows its bound; a target name is a valid name or nothing.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/spf/record.hpp"

using namespace mailstead::spf;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto parsed = parse_record(bytes);
  if (auto* record = std::get_if<Record>(&parsed)) {
    for (const auto& d : record->directives) {
      if (d.cidr4 > 32 || d.cidr6 > 128) std::abort();
      if (d.mechanism == Mechanism::ip4 && d.address.size() != 4) std::abort();
      if (d.mechanism == Mechanism::ip6 && d.address.size() != 16) std::abort();
    }
  }
  MacroContext context{"strong-bad@email.example.com",
                       "email.example.com",
                       std::string("\xC0\x00\x02\x03", 4),
                       "mx.example.org",
                       "mail.example.test",
                       1000,
                       ""};
  for (bool explanation : {false, true}) {
    auto expanded = expand(bytes, context, explanation);
    if (expanded && expanded->size() > 4096 + 256) std::abort();
    if (expanded) {
      auto name = target_name(*expanded);
      if (name && (name->size() > kMaxExpansion || name->empty())) std::abort();
    }
  }
  return 0;
}
