// libFuzzer target: DMARC policy records from a stranger's DNS, and organisational domains of
// any name. A record reads or says why; pct= stays within 0-100 and rua= within its bound;
// an organisational domain is never longer than the name it came from.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/dmarc/dmarc.hpp"

using namespace mailstead::dmarc;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto parsed = parse_record(bytes);
  if (auto* record = std::get_if<Record>(&parsed)) {
    if (record->percent > 100 || record->aggregate_reports.size() > 8) std::abort();
    Evidence evidence{true, "example.org", {"example.org"}};
    auto verdict = evaluate("example.org", "example.org", *record, evidence, 0);
    if (verdict.result != Result::pass) std::abort();
  }
  std::string name(bytes.substr(0, 253));
  if (name.find('\0') == std::string::npos) {
    auto org = organizational_domain(name);
    if (org.size() > name.size()) std::abort();
  }
  return 0;
}
