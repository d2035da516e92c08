// libFuzzer target: the DATA reader fed in pieces (cut where the input's first bytes say) must
// give the same result as fed whole, never pass on more than its limit, and stop only right
// after a CRLF.CRLF.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/io/data_reader.hpp"

namespace {

struct Outcome {
  std::string message;
  std::size_t consumed = 0;
  bool done = false;
};

Outcome run(std::string_view input, std::size_t piece) {
  mailstead::io::DotDataReader reader(4096);
  Outcome out;
  mailstead::io::Sink sink = [&](std::span<const char> b) { out.message.append(b.data(), b.size()); };
  while (out.consumed < input.size() && !reader.done()) {
    auto chunk = input.substr(out.consumed, piece);
    out.consumed += reader.feed(std::span<const char>(chunk.data(), chunk.size()), sink);
  }
  out.done = reader.done();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  std::size_t piece = 1 + data[0] % 64;
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto whole = run(input, input.size() + 1);
  auto split = run(input, piece);
  if (whole.message != split.message || whole.consumed != split.consumed || whole.done != split.done) std::abort();
  if (whole.message.size() > 4096) std::abort();
  if (whole.done) {
    auto end = input.substr(0, whole.consumed);
    if (!(end == ".\r\n" || end.ends_with("\r\n.\r\n"))) std::abort();
  }
  return 0;
}
