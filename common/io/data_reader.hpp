#pragma once
// Readers for bytes that are not command lines, streaming to a sink so that nothing ever
// holds a whole message in memory.
//
// DotDataReader: an SMTP DATA body (RFC 5321 §4.1.1.4, §4.5.2). It removes dot-stuffing and
// stops right after the terminating <CRLF>.<CRLF> — and only there: a bare LF or bare CR never
// starts or ends the terminator, so a message cannot smuggle a second one ("SMTP smuggling").
// It keeps reading to the real terminator whatever it finds, so the session stays in step and
// can answer once; what it found is in status(): bare CR/LF, NUL, size over the limit (bytes
// past the limit are counted but not passed on), the longest line.
//
// CountedReader: exactly N bytes (an IMAP literal, an SMTP BDAT chunk).
//
// Both are pure: feed() takes whatever bytes have arrived and returns how many it used; the
// bytes after the end belong to the next command.

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>

namespace mailstead::io {

using Sink = std::function<void(std::span<const char>)>;

struct DataStatus {
  std::uint64_t size = 0;          // message bytes after unstuffing, including any past the limit
  std::uint64_t longest_line = 0;  // in bytes, with its CRLF
  bool too_big = false;
  bool bare_cr = false;
  bool bare_lf = false;
  bool nul = false;
};

class DotDataReader {
 public:
  explicit DotDataReader(std::uint64_t max_size);

  std::size_t feed(std::span<const char> input, const Sink& sink);
  bool done() const { return state_ == State::done; }
  const DataStatus& status() const { return status_; }

 private:
  enum class State { line_start, dot, dot_cr, middle, cr, done };

  void process_middle(char c);
  void emit(char c);
  void flush(const Sink& sink);

  State state_ = State::line_start;
  DataStatus status_;
  std::uint64_t max_size_;
  std::uint64_t line_length_ = 0;
  std::array<char, 4096> out_{};
  std::size_t out_used_ = 0;
};

class CountedReader {
 public:
  explicit CountedReader(std::uint64_t count) : remaining_(count) {}

  std::size_t feed(std::span<const char> input, const Sink& sink);
  bool done() const { return remaining_ == 0; }
  std::uint64_t remaining() const { return remaining_; }

 private:
  std::uint64_t remaining_;
};

}  // namespace mailstead::io
