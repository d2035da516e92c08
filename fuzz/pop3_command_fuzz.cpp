// libFuzzer target: the POP3 command parser answers every line with a command or a syntax
// error and never crashes; a PASS keeps exactly the rest of the line.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "pop3d/proto/command.hpp"
#include "pop3d/proto/response.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view line(reinterpret_cast<const char*>(data), size);
  auto command = mailstead::pop3::parse_command(line);
  if (auto* pass = std::get_if<mailstead::pop3::Pass>(&command)) {
    if (pass->password.size() + 5 != size) std::abort();
  }
  // The same bytes as a message: RETR output ends with the terminator, TOP never grows it
  // by more than the stuffing and the terminator.
  std::string out;
  mailstead::pop3::append_message(out, line);
  if (!out.ends_with("\r\n.\r\n") && out != ".\r\n") std::abort();
  std::string top;
  mailstead::pop3::append_top(top, line, size % 7);
  if (top.size() > 2 * size + 7) std::abort();
  return 0;
}
