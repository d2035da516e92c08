#pragma once
// The bounded line reader that SMTP, POP3 and IMAP sessions read commands with.
//
// It owns a buffer of at most `max_line` bytes (the limit includes the CRLF), so whatever a
// peer sends, it never holds more. The buffer starts at kInitialSize, doubles when a line
// needs it or a read filled all the space offered (a bulk transfer: a literal, DATA), and
// shrinks back once empty after small reads, so that 10,000 idle IMAP connections with a
// 64 KiB line limit do not hold 64 KiB each. The session reads from its socket into prepare(), commits
// what arrived, then calls next() until it answers NeedMore:
//   - Line: one line without its terminator. A line normally ends in CRLF; `bare_lf` says it
//     ended in a lone LF, `bare_cr` that a CR not followed by LF sits inside it. SMTP refuses
//     both; IMAP and POP3 may accept them. The text stays valid until the next call.
//   - LineTooLong: max_line bytes arrived without a line end. Reported once, as soon as it is
//     known; the rest of that line, up to its LF, is then dropped unseen.
// Parsers never see a socket: this class is pure and unit-tested at every split point.
// Bytes that are not lines (an IMAP literal, an SMTP DATA body) are taken raw through
// buffered()/consume() by the readers of data_reader.hpp.

#include <algorithm>
#include <cstddef>
#include <span>
#include <string_view>
#include <variant>
#include <vector>

namespace mailstead::io {

struct NeedMore {
  friend bool operator==(NeedMore, NeedMore) = default;
};
struct Line {
  std::string_view text;
  bool bare_cr = false;
  bool bare_lf = false;
};
struct LineTooLong {
  friend bool operator==(LineTooLong, LineTooLong) = default;
};
using LineEvent = std::variant<NeedMore, Line, LineTooLong>;

class LineReader {
 public:
  explicit LineReader(std::size_t max_line);

  // Free space to receive into. Never empty once next() has answered NeedMore.
  std::span<char> prepare();
  void commit(std::size_t received);

  LineEvent next();

  // Received bytes not yet returned as lines.
  std::span<const char> buffered() const { return {buffer_.data() + begin_, end_ - begin_}; }
  // A line end is buffered: next() answers without more input. Sessions write their queued
  // replies only when this is false, so a pipelined batch gets one write (RFC 2920, 2449).
  bool has_line() const;
  void consume(std::size_t n);
  // Forgets everything received so far (STARTTLS: plaintext pipelined behind the command
  // must not be read as if it had come over TLS; CVE-2011-0411).
  void discard_buffered();

  std::size_t max_line() const { return max_line_; }
  // A longer limit from now on (IMAP after login: a stranger gets a few KiB, a user more).
  // Only ever raised: what is buffered always fits.
  void raise_max_line(std::size_t max_line) { max_line_ = std::max(max_line_, max_line); }
  std::size_t capacity() const { return buffer_.size(); }

  static constexpr std::size_t kInitialSize = 4096;

 private:
  std::size_t max_line_;
  std::size_t initial_;
  std::vector<char> buffer_;
  std::size_t offered_ = 0;   // free space the last prepare() handed out
  bool last_filled_ = false;  // the last commit() used all of it
  std::size_t begin_ = 0;     // first byte not yet returned
  std::size_t end_ = 0;       // one past the last received byte
  std::size_t scanned_ = 0;   // bytes after begin_ known to hold no LF
  bool discarding_ = false;   // inside an over-long line, dropping up to its LF
};

}  // namespace mailstead::io
