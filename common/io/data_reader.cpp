#include "common/io/data_reader.hpp"

#include <algorithm>

namespace mailstead::io {

DotDataReader::DotDataReader(std::uint64_t max_size) : max_size_(max_size) {}

void DotDataReader::emit(char c) {
  ++line_length_;
  if (c == '\0') status_.nul = true;
  if (++status_.size > max_size_) {
    status_.too_big = true;
    return;
  }
  out_[out_used_++] = c;
}

void DotDataReader::flush(const Sink& sink) {
  if (out_used_ == 0) return;
  sink(std::span<const char>(out_.data(), out_used_));
  out_used_ = 0;
}

// A byte inside a line; a CR is held back until we know whether LF follows.
void DotDataReader::process_middle(char c) {
  if (c == '\r') {
    state_ = State::cr;
    return;
  }
  if (c == '\n') status_.bare_lf = true;  // a lone LF ends no line: the next '.' is data
  emit(c);
  state_ = State::middle;
}

std::size_t DotDataReader::feed(std::span<const char> input, const Sink& sink) {
  std::size_t used = 0;
  while (used < input.size() && state_ != State::done) {
    if (out_used_ == out_.size()) flush(sink);
    char c = input[used++];
    switch (state_) {
      case State::line_start:
        if (c == '.')
          state_ = State::dot;  // stuffed dot or the terminator: not data
        else
          process_middle(c);
        break;
      case State::dot:
        if (c == '\r')
          state_ = State::dot_cr;
        else
          process_middle(c);
        break;
      case State::dot_cr:
        if (c == '\n') {
          state_ = State::done;
          break;
        }
        status_.bare_cr = true;
        emit('\r');
        process_middle(c);
        break;
      case State::cr:
        if (c == '\n') {
          emit('\r');
          emit('\n');
          status_.longest_line = std::max(status_.longest_line, line_length_);
          line_length_ = 0;
          state_ = State::line_start;
          break;
        }
        status_.bare_cr = true;
        emit('\r');
        process_middle(c);
        break;
      case State::middle:
        process_middle(c);
        break;
      case State::done:
        break;
    }
  }
  flush(sink);
  return used;
}

std::size_t CountedReader::feed(std::span<const char> input, const Sink& sink) {
  auto n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, input.size()));
  if (n > 0) sink(input.first(n));
  remaining_ -= n;
  return n;
}

}  // namespace mailstead::io
