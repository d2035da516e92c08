#include "common/io/line_reader.hpp"

#include <algorithm>
#include <cassert>
#include <cstring>

namespace mailstead::io {

LineReader::LineReader(std::size_t max_line)
    : max_line_(std::max<std::size_t>(max_line, 3)), initial_(std::min(max_line_, kInitialSize)), buffer_(initial_) {}

std::span<char> LineReader::prepare() {
  if (begin_ > 0) {
    std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  std::size_t wanted = buffer_.size();
  if (end_ == buffer_.size() || (end_ == 0 && last_filled_)) {
    wanted = std::min(buffer_.size() * 2, max_line_);  // a long line, or a bulk transfer
  } else if (end_ == 0 && buffer_.size() > initial_) {
    wanted = initial_;  // quiet again: an idle connection keeps only a small buffer
  }
  if (wanted != buffer_.size()) {
    std::vector<char> resized(wanted);
    std::memcpy(resized.data(), buffer_.data(), end_);
    buffer_.swap(resized);
  }
  offered_ = buffer_.size() - end_;
  return {buffer_.data() + end_, offered_};
}

void LineReader::commit(std::size_t received) {
  assert(received <= buffer_.size() - end_);
  end_ += received;
  last_filled_ = received > 0 && received == offered_;
}

bool LineReader::has_line() const {
  auto b = buffered();
  return std::find(b.begin(), b.end(), '\n') != b.end();
}

void LineReader::consume(std::size_t n) {
  assert(n <= end_ - begin_);
  begin_ += n;
  scanned_ = 0;
}

void LineReader::discard_buffered() {
  begin_ = end_ = scanned_ = 0;
  discarding_ = false;
}

LineEvent LineReader::next() {
  const char* data = buffer_.data();
  if (discarding_) {
    auto* lf = static_cast<const char*>(std::memchr(data + begin_, '\n', end_ - begin_));
    if (!lf) {
      begin_ = end_ = 0;
      return NeedMore{};
    }
    begin_ = static_cast<std::size_t>(lf - data) + 1;
    discarding_ = false;
  }
  std::size_t from = begin_ + scanned_;
  auto* lf = static_cast<const char*>(std::memchr(data + from, '\n', end_ - from));
  if (!lf) {
    scanned_ = end_ - begin_;
    if (end_ - begin_ < max_line_) return NeedMore{};
    begin_ = end_ = scanned_ = 0;
    discarding_ = true;
    return LineTooLong{};
  }
  std::size_t stop = static_cast<std::size_t>(lf - data);
  Line line;
  line.bare_lf = stop == begin_ || data[stop - 1] != '\r';
  std::size_t text_end = line.bare_lf ? stop : stop - 1;
  line.text = std::string_view(data + begin_, text_end - begin_);
  line.bare_cr = line.text.find('\r') != std::string_view::npos;
  begin_ = stop + 1;
  scanned_ = 0;
  return line;
}

}  // namespace mailstead::io
