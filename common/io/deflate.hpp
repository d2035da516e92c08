#pragma once
// Raw DEFLATE (RFC 1951) for a connection that compresses both ways (IMAP COMPRESS=DEFLATE,
// RFC 4978), through zlib. Pure: bytes in, bytes out.
//
// Memory is what an idle compressed connection costs, so the two directions differ:
// - input is one stream for the connection's whole life (the peer's compressor may refer back
//   32 KiB at any time): an Inflater holds zlib's inflate state, and its 32 KiB window once
//   the first bytes arrive (~40 KiB);
// - output is compressed one batch at a time by a compressor made for it and dropped after a
//   sync flush: raw DEFLATE has no header, so each batch's blocks simply continue the stream
//   at the byte boundary the flush left, and an idle connection holds no compressor (zlib's
//   takes ~270 KiB while it lives).

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace mailstead::io {

class Inflater {
 public:
  Inflater();
  ~Inflater();
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;

  struct Progress {
    std::size_t consumed = 0;  // of the input
    std::size_t produced = 0;  // into the output
  };
  // As much of `in` as fits into `out`; nullopt if `in` is not DEFLATE (the stream is then
  // unusable) or it ended (RFC 4978 streams never end).
  std::optional<Progress> inflate(std::span<const char> in, std::span<char> out);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// `data` as the next batch of a raw DEFLATE stream, ending in a sync flush so that the peer
// can decode all of it at once (RFC 4978 §4).
std::string deflate_batch(std::string_view data);

}  // namespace mailstead::io
