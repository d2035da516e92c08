// libFuzzer target: DNS responses from a hostile server. parse_response never reads past the
// packet, every name it returns fits RFC 1035's 255 octets, TXT data is never longer than the
// packet, and reading the answer (CNAME chains included) ends.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/dns/answer.hpp"
#include "common/dns/message.hpp"

using namespace mailstead::dns;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto response = parse_response(bytes);
  if (!response) return 0;
  if (response->question.size() > 254) std::abort();
  for (const auto& r : response->answers) {
    if (r.owner.size() > 254 || r.data.size() > size) std::abort();
    if ((r.type == Type::a && r.data.size() != 4) || (r.type == Type::aaaa && r.data.size() != 16)) std::abort();
  }
  for (auto type : {Type::a, Type::txt, Type::mx, Type::ptr, Type::cname}) {
    auto reading = read_answer(*response, response->question, type, 8);
    if (reading.answer.status == Status::ok && reading.answer.records.empty()) std::abort();
    for (const auto& r : reading.answer.records)
      if (r.type != type) std::abort();
  }
  return 0;
}
