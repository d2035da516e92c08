// libFuzzer target: the SMTP command parser must answer every line with a command or a syntax
// error, never crash, and keep what it extracts inside the line.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "smtpd/proto/command.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view line(reinterpret_cast<const char*>(data), size);
  auto command = mailstead::smtp::parse_command(line);
  if (auto* rcpt = std::get_if<mailstead::smtp::Rcpt>(&command)) {
    if (rcpt->recipient.local.size() + rcpt->recipient.domain.size() > size) std::abort();
  }
  if (auto* e = std::get_if<mailstead::smtp::SyntaxError>(&command)) {
    if (e->code < 500 || e->code > 555) std::abort();
  }
  return 0;
}
