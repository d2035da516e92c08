#pragma once
// SMTP replies: a code, an enhanced status code (RFC 3463, sent when ENHANCEDSTATUSCODES is
// in force, which is always for EHLO clients) and one or more lines of text, serialised with
// the multi-line form of RFC 5321 §4.2.1.

#include <string>
#include <string_view>
#include <vector>

namespace mailstead::smtp {

struct Reply {
  int code = 250;
  std::string enhanced;  // "2.0.0", or empty for replies that take none (220, 221 may, 354 not)
  std::vector<std::string> lines;

  bool positive() const { return code < 400; }
  bool permanent() const { return code >= 500; }
  std::string serialize() const;
  // "550 5.1.1 <a@b>: no such user": the whole reply on one line, for logs, queues and DSNs.
  std::string one_line() const;
};

Reply reply(int code, std::string_view enhanced, std::string_view text);

// The client side: collects the lines of one server reply ("250-a", "250 b"). A line that is
// not a reply line, or whose code differs from the first line's, is malformed: the session
// with that server cannot go on.
class ReplyAssembler {
 public:
  enum class Status { more, done, malformed };
  Status add(std::string_view line);  // without the CRLF
  // The reply once add() said done; the enhanced code is taken from the last line's text
  // when it starts with one ("250 2.1.0 Ok").
  Reply take();

 private:
  Reply reply_;
  bool started_ = false;
};

}  // namespace mailstead::smtp
