// libFuzzer target: what a content filter (milter) sends, read as a stream of packets, and the
// changes it asks for made to a message. Framing never reads past the bytes or accepts more than
// kMaxPacket; a change is made or refused with a reason, and the result stays within the limits
// and keeps every header line a field or a fold (nothing a filter sends can split a field).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/milter/protocol.hpp"

using namespace mailstead::milter;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  // The first line is the message; what follows is the filter's stream.
  auto split = bytes.find('\x7f');
  std::string message =
      split == std::string_view::npos ? "Subject: s\r\nTo: a@b\r\n\r\nbody\r\n" : std::string(bytes.substr(0, split));
  auto stream = split == std::string_view::npos ? bytes : bytes.substr(split + 1);
  Edits edits;
  while (!stream.empty()) {
    auto framed = frame(stream);
    if (!std::holds_alternative<Framed>(framed)) break;
    const auto& f = std::get<Framed>(framed);
    if (f.size > stream.size() || f.size < 5 || f.size > kMaxPacket + 4) std::abort();
    stream.remove_prefix(f.size);
    auto parsed = parse_reply(f.packet);
    if (!std::holds_alternative<Reply>(parsed)) continue;
    auto& reply = std::get<Reply>(parsed);
    if (auto* r = std::get_if<CustomReply>(&reply)) {
      if (r->code < 400 || r->code > 599 || r->lines.empty()) std::abort();
      for (const auto& line : r->lines)
        for (char c : line)
          if (static_cast<unsigned char>(c) < 32) std::abort();
    }
    if (auto* a = std::get_if<AddHeader>(&reply)) edits.header.emplace_back(*a);
    if (auto* i = std::get_if<InsertHeader>(&reply)) edits.header.emplace_back(*i);
    if (auto* c = std::get_if<ChangeHeader>(&reply)) edits.header.emplace_back(*c);
    if (auto* b = std::get_if<ReplaceBody>(&reply)) edits.body = edits.body.value_or("") + b->chunk;
  }
  // A message whose lines all end in CRLF keeps it so, whatever the filter asked for.
  auto clean = [](std::string_view m) {
    for (std::size_t i = 0; i < m.size(); ++i) {
      if (m[i] == '\n' && (i == 0 || m[i - 1] != '\r')) return false;
      if (m[i] == '\r' && (i + 1 == m.size() || m[i + 1] != '\n')) return false;
    }
    return true;
  };
  EditLimits limits{4096, 65536};
  auto out = apply(message, edits, limits);
  if (auto* result = std::get_if<std::string>(&out)) {
    if (result->size() > limits.max_message_size) std::abort();
    if (clean(message) && !edits.body && !clean(*result)) std::abort();
  }
  // Header values go to a filter with LF folds only.
  for (const auto& field : header_fields(message))
    if (clean(message) && field.second.find('\r') != std::string::npos) std::abort();
  return 0;
}
