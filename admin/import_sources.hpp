#pragma once
// Reading other servers' mail for `mailstead import`: Maildir (and Maildir++ folders, with
// Dovecot's keyword letters) and mbox (mboxrd). Pure parsing over names and streams, so the
// import command stays a loop of "read one message, store it".

#include <cstdint>
#include <istream>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailstead::admin {

// The flags part of a Maildir file name ("...:2,FRS"): storage flag bits, and keywords from
// Dovecot's letters a-z through `keyword_letters` (from dovecot-keywords).
struct MaildirFlags {
  std::uint32_t flags = 0;
  std::vector<std::string> keywords;
};
MaildirFlags parse_maildir_flags(std::string_view filename, const std::map<char, std::string>& keyword_letters);
// The unique part of a Maildir file name: everything before ":2," (or "!2," on some systems).
std::string_view maildir_unique_name(std::string_view filename);
// Dovecot's dovecot-keywords file: "0 $Forwarded" lines, 0 meaning letter 'a'.
std::map<char, std::string> parse_dovecot_keywords(std::istream& in);
// A Maildir++ folder directory name (".Work.Projects") as a mailbox name with `separator`;
// nullopt for directories that are not folders. Names are modified UTF-7 there.
std::optional<std::string> maildir_folder_mailbox(std::string_view directory, char separator);

// Streams the messages of an mbox file one at a time (never more than one in memory).
class MboxReader {
 public:
  struct Message {
    std::string bytes;         // CRLF line ends, ">From " unquoted (mboxrd)
    std::uint64_t offset = 0;  // of its "From " line: the message's name in the import ledger
    std::int64_t date = 0;     // from the "From " line; 0 if unreadable
    std::uint32_t flags = 0;   // from Status: and X-Status:
  };

  explicit MboxReader(std::istream& in) : in_(in) {}
  // False at the end; throws std::runtime_error if the file is not an mbox.
  bool next(Message& out);

 private:
  // The next line of the current message; false at the end or at the next "From " line.
  bool next_line(std::string& line);

  std::istream& in_;
  std::string pending_from_;  // the "From " line that starts the next message
  std::uint64_t pending_offset_ = 0;
  std::uint64_t offset_ = 0;
  bool started_ = false;
};

// "Mon Nov 24 09:54:29 2026" (asctime, as in mbox "From " lines) as seconds since the epoch (UTC).
std::optional<std::int64_t> parse_asctime(std::string_view text);

}  // namespace mailstead::admin
