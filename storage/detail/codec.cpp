#include "storage/detail/codec.hpp"

#include <fmt/format.h>

#include "storage/result.hpp"

namespace mailstead::storage::codec {

void put_u32be(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}

void put_u64be(std::string& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}

std::uint32_t get_u32be(std::string_view in, std::size_t at) {
  if (in.size() < at + 4) throw StorageError(Errc::corrupt, "short key");
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < 4; ++i) v = v << 8 | static_cast<unsigned char>(in[at + i]);
  return v;
}

std::uint64_t get_u64be(std::string_view in, std::size_t at) {
  if (in.size() < at + 8) throw StorageError(Errc::corrupt, "short key");
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8; ++i) v = v << 8 | static_cast<unsigned char>(in[at + i]);
  return v;
}

std::string key_u32(std::uint32_t a) {
  std::string k;
  put_u32be(k, a);
  return k;
}

std::string key_u32_u32(std::uint32_t a, std::uint32_t b) {
  std::string k;
  put_u32be(k, a);
  put_u32be(k, b);
  return k;
}

Writer& Writer::u64(std::uint64_t v) {
  do {
    auto byte = static_cast<std::uint8_t>(v & 0x7f);
    v >>= 7;
    out_.push_back(static_cast<char>(v ? byte | 0x80 : byte));
  } while (v);
  return *this;
}

Writer& Writer::str(std::string_view s) {
  u64(s.size());
  out_.append(s);
  return *this;
}

Reader::Reader(std::string_view in, std::string_view what) : in_(in), what_(what) {
  if (in_.empty()) corrupt();
  format_ = static_cast<std::uint8_t>(in_[0]);
}

void Reader::corrupt() const {
  throw StorageError(Errc::corrupt, fmt::format("corrupt {} record", what_));
}

std::uint64_t Reader::u64() {
  std::uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (pos_ >= in_.size()) corrupt();
    auto byte = static_cast<std::uint8_t>(in_[pos_++]);
    v |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
    if (!(byte & 0x80)) return v;
  }
  corrupt();
}

std::uint32_t Reader::u32() {
  auto v = u64();
  if (v > 0xffffffffu) corrupt();
  return static_cast<std::uint32_t>(v);
}

std::string Reader::str() {
  return std::string(view());
}

std::string_view Reader::view() {
  auto n = u64();
  if (n > in_.size() - pos_) corrupt();
  auto s = in_.substr(pos_, n);
  pos_ += n;
  return s;
}

}  // namespace mailstead::storage::codec
