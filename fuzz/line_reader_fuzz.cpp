// libFuzzer target: the line reader never holds more than its limit and reports the same lines
// whether the input comes whole or in pieces.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "common/io/line_reader.hpp"

namespace {

std::vector<std::string> run(std::string_view input, std::size_t piece) {
  mailstead::io::LineReader reader(64);
  std::vector<std::string> events;
  for (std::size_t at = 0; at < input.size();) {
    auto space = reader.prepare();
    if (space.empty() || reader.buffered().size() + space.size() > 64) std::abort();
    std::size_t n = std::min({space.size(), piece, input.size() - at});
    std::memcpy(space.data(), input.data() + at, n);
    reader.commit(n);
    at += n;
    for (auto e = reader.next(); !std::holds_alternative<mailstead::io::NeedMore>(e); e = reader.next()) {
      if (auto* line = std::get_if<mailstead::io::Line>(&e))
        events.push_back(std::string(line->text) + (line->bare_cr ? "+CR" : "") + (line->bare_lf ? "+LF" : ""));
      else
        events.emplace_back("TOO_LONG");
    }
  }
  return events;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  std::size_t piece = 1 + data[0] % 80;
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (run(input, input.size() + 1) != run(input, piece)) std::abort();
  return 0;
}
