// libFuzzer target: the MIME parser must return a structure for any bytes, with every span
// inside the message and children inside their parent, and no more parts than its limits
// allow (max_parts, plus one opaque remainder per level it is reached at). The same bytes go
// through the quoted-printable decoder (never longer than its input) and the address-list
// parser (IMAP ENVELOPE, SEARCH FROM).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/mime/decode.hpp"
#include "common/mime/mime.hpp"

namespace {

using mailstead::mime::Limits;
using mailstead::mime::Part;
using mailstead::mime::Span;

std::size_t check(const Part& part, std::size_t begin, std::size_t end, unsigned depth, const Limits& limits) {
  if (depth > limits.max_depth + 1) std::abort();
  if (part.fields.size() > limits.max_header_fields) std::abort();
  auto inside = [&](const Span& s) { return s.offset >= begin && s.offset + s.length <= end; };
  if (!inside(part.header) || !inside(part.body)) std::abort();
  std::size_t parts = 1;
  for (const auto& child : part.children)
    parts += check(child, part.body.offset, part.body.offset + part.body.length, depth + 1, limits);
  return parts;
}

void parse(std::string_view bytes, const Limits& limits) {
  mailstead::mime::ParseStats stats;
  auto part = mailstead::mime::parse_message(bytes, limits, &stats);
  auto parts = check(part, 0, bytes.size(), 0, limits);
  if (parts != stats.parts || parts > limits.max_parts + limits.max_depth + 1) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  parse(bytes, Limits{});
  // Small limits, so that the fuzzer reaches each of them with small inputs.
  parse(
      bytes,
      Limits{
          .max_parts = 8, .max_depth = 3, .max_header_fields = 4, .max_header_size = 256, .max_structure_size = 2048});
  if (mailstead::mime::decode_quoted_printable(bytes).size() > bytes.size()) std::abort();
  for (const auto& address : mailstead::mime::parse_address_list(bytes))
    if (address.mailbox.size() + address.host.size() + address.name.size() > 2 * bytes.size() + 32) std::abort();
  return 0;
}
