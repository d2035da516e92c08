#pragma once
// Byte layouts of keys and records. Keys use big-endian integers so that LMDB's byte order is
// numeric order; records are a format byte followed by LEB128 integers and length-prefixed
// strings, so fields can be appended in later formats without rewriting the store.
// Pure functions; a short or malformed record throws StorageError(corrupt).

#include <cstdint>
#include <string>
#include <string_view>

namespace mailstead::storage::codec {

void put_u32be(std::string& out, std::uint32_t v);
void put_u64be(std::string& out, std::uint64_t v);
std::uint32_t get_u32be(std::string_view in, std::size_t at = 0);
std::uint64_t get_u64be(std::string_view in, std::size_t at = 0);

std::string key_u32(std::uint32_t a);
std::string key_u32_u32(std::uint32_t a, std::uint32_t b);

class Writer {
 public:
  explicit Writer(std::uint8_t format) { out_.push_back(static_cast<char>(format)); }
  Writer& u64(std::uint64_t v);
  Writer& boolean(bool v) { return u64(v ? 1 : 0); }
  Writer& str(std::string_view s);
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

class Reader {
 public:
  // `what` names the record in corruption errors.
  Reader(std::string_view in, std::string_view what);
  std::uint8_t format() const { return format_; }
  std::uint64_t u64();
  std::uint32_t u32();  // a u64 that must fit
  bool boolean() { return u64() != 0; }
  std::string str();
  std::string_view view();  // a string without copying it: valid as long as the input
  bool at_end() const { return pos_ == in_.size(); }

 private:
  [[noreturn]] void corrupt() const;
  std::string_view in_;
  std::string_view what_;
  std::size_t pos_ = 1;
  std::uint8_t format_ = 0;
};

}  // namespace mailstead::storage::codec
