// libFuzzer target: the SMTP command parser must answer every line with a command or a syntax
// error, never crash, and keep what it extracts inside the line; DSN parameters (ENVID, ORCPT)
// decode to printable US-ASCII only, since they are copied into generated notices.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "smtpd/proto/command.hpp"

namespace {

void require_printable(std::string_view text) {
  for (char c : text)
    if (c < 0x20 || c > 0x7e) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view line(reinterpret_cast<const char*>(data), size);
  auto command = mailstead::smtp::parse_command(line);
  if (auto* rcpt = std::get_if<mailstead::smtp::Rcpt>(&command)) {
    if (rcpt->recipient.local.size() + rcpt->recipient.domain.size() > size) std::abort();
    require_printable(rcpt->orcpt);
  }
  if (auto* mail = std::get_if<mailstead::smtp::Mail>(&command)) require_printable(mail->envid);
  if (auto* e = std::get_if<mailstead::smtp::SyntaxError>(&command)) {
    if (e->code < 500 || e->code > 555) std::abort();
  }
  if (auto decoded = mailstead::smtp::decode_xtext(line)) require_printable(*decoded);
  return 0;
}
