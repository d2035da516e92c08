// libFuzzer target: the config loader answers any text with a validated Config or with errors
// that each name a place, and never crashes. A config is written by the operator, not a
// stranger, but it is the first thing every daemon reads: a typo must give an error, not a
// core dump.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/config/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto result = mailstead::config::load_config_text(text, "fuzz.toml", "/nonexistent");
  if (result.config.has_value() == !result.errors.empty()) std::abort();
  for (const auto& e : result.errors)
    if (e.file != "fuzz.toml" || e.message.empty()) std::abort();
  return 0;
}
