// libFuzzer target: COMPRESS=DEFLATE's input side (RFC 4978) against whatever a peer sends.
// - Arbitrary bytes, fed in pieces into a small output buffer: every call either makes progress
//   or reports the stream unusable (the connection must never spin on a call that does
//   neither), never reports more than it was given room for, and the bytes decoded are the
//   same however the input is split.
// - The fuzz input as plain text, compressed one batch per piece as the server sends it
//   (io::deflate_batch), decodes to exactly that text: the batches form one stream.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "common/io/deflate.hpp"

namespace {

// The bytes `input` decodes to, fed `piece` bytes at a time; nullopt once the stream is
// refused.
std::optional<std::string> inflate_all(std::string_view input, std::size_t piece) {
  mailstead::io::Inflater inflater;
  std::array<char, 512> out{};
  std::string decoded;
  for (std::size_t at = 0; at < input.size();) {
    std::string_view in = input.substr(at, std::min(piece, input.size() - at));
    while (!in.empty()) {
      auto progress = inflater.inflate(in, out);
      if (!progress) return std::nullopt;
      if (progress->consumed > in.size() || progress->produced > out.size()) std::abort();
      if (progress->consumed == 0 && progress->produced == 0) std::abort();  // would spin
      decoded.append(out.data(), progress->produced);
      in.remove_prefix(progress->consumed);
      if (decoded.size() > (std::size_t{1} << 20)) return decoded;  // a bomb: enough seen
    }
    at += std::min(piece, input.size() - at);
  }
  // What is held back for want of room comes out with no more input (net::Connection asks
  // for it before reading more), and may turn out to be bad too.
  for (;;) {
    auto progress = inflater.inflate({}, out);
    if (!progress) return std::nullopt;
    if (progress->produced == 0) break;
    decoded.append(out.data(), progress->produced);
  }
  return decoded;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  std::size_t piece = 1 + data[0] % 97;
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);

  auto whole = inflate_all(input, input.size() + 1);
  auto pieces = inflate_all(input, piece);
  if (whole.has_value() != pieces.has_value()) std::abort();
  if (whole && whole->size() < (std::size_t{1} << 20) && *whole != *pieces) std::abort();

  // Batches of 64 to 6,208 bytes (a compressor is made for each, which is what costs here).
  const std::size_t batch = 64 * piece;
  std::string stream;
  for (std::size_t at = 0; at < input.size(); at += batch)
    stream += mailstead::io::deflate_batch(input.substr(at, std::min(batch, input.size() - at)));
  auto round_trip = inflate_all(stream, piece);
  if (!round_trip || *round_trip != input) std::abort();
  return 0;
}
