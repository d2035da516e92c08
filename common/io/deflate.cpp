#include "common/io/deflate.hpp"

#include <zlib.h>

#include <stdexcept>

namespace mailstead::io {

struct Inflater::State {
  z_stream z{};
};

Inflater::Inflater() : state_(std::make_unique<State>()) {
  // Negative window bits: raw DEFLATE, no zlib header (RFC 4978 §3); 15 takes any window the
  // peer compresses with.
  if (inflateInit2(&state_->z, -15) != Z_OK) throw std::bad_alloc();
}

Inflater::~Inflater() {
  inflateEnd(&state_->z);
}

std::optional<Inflater::Progress> Inflater::inflate(std::span<const char> in, std::span<char> out) {
  auto& z = state_->z;
  // zlib's interface is not const-correct; it does not write to its input.
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  int rc = ::inflate(&z, Z_SYNC_FLUSH);
  Progress p{in.size() - z.avail_in, out.size() - z.avail_out};
  if (rc == Z_OK || (rc == Z_BUF_ERROR && (in.empty() || out.empty() || p.consumed > 0))) return p;
  return std::nullopt;  // Z_DATA_ERROR, Z_STREAM_END, Z_MEM_ERROR, or no progress on data
}

std::string deflate_batch(std::string_view data) {
  z_stream z{};
  // Level 6 (zlib's default), a 32 KiB window and zlib's default memory level: the compressor
  // lives for one batch only (see the header).
  if (deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) throw std::bad_alloc();
  std::string out;
  out.resize(deflateBound(&z, static_cast<uLong>(data.size())) + 16);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&z, Z_SYNC_FLUSH);
  // deflateBound() leaves room for all of it and the flush marker: one call finishes.
  if (rc != Z_OK || z.avail_in != 0 || z.avail_out == 0) {
    deflateEnd(&z);
    throw std::runtime_error("deflate: the output did not fit its bound");
  }
  out.erase(out.size() - z.avail_out);  // only ever shrinks
  deflateEnd(&z);
  return out;
}

}  // namespace mailstead::io
