// libFuzzer target: the MIME parser must return a structure for any bytes, with every span
// inside the message and children inside their parent.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/mime/mime.hpp"

namespace {

void check(const mailstead::mime::Part& part, std::size_t begin, std::size_t end, int depth) {
  if (depth > mailstead::mime::kMaxDepth + 2) std::abort();
  auto inside = [&](const mailstead::mime::Span& s) { return s.offset >= begin && s.offset + s.length <= end; };
  if (!inside(part.header) || !inside(part.body)) std::abort();
  for (const auto& child : part.children)
    check(child, part.body.offset, part.body.offset + part.body.length, depth + 1);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto part = mailstead::mime::parse_message(bytes);
  check(part, 0, size, 0);
  return 0;
}
