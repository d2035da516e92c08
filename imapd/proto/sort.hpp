#pragma once
// SORT and THREAD (RFC 5256, SORT=DISPLAY RFC 5957): the keys a message sorts by, the base
// subject, the sent date, and the two threading algorithms, over the messages a search
// matched. Pure: the session reads each message's header into a SortMessage.
//
// Comparisons are i;ascii-casemap (RFC 5256 §3: ASCII letters fold, other bytes compare as
// they are), DISPLAYFROM/DISPLAYTO i;unicode-casemap as RFC 5957 asks (fold_case). Messages
// that compare equal keep sequence-number order (RFC 5256 §3).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/mime/mime.hpp"

namespace mailstead::imap {

struct SortCriterion {
  enum class Key { arrival, cc, date, from, size, subject, to, display_from, display_to };
  Key key = Key::arrival;
  bool reverse = false;
};

// What sorting and threading read of one message.
struct SortMessage {
  std::uint32_t seq = 0;
  std::uint32_t uid = 0;
  std::int64_t internal_date = 0;
  std::uint64_t size = 0;
  std::optional<std::string> subject, date, message_id, in_reply_to, references;  // raw values
  std::vector<mime::Address> from, to, cc;
};

// What sorting and threading read of one message's header, and no more: the first mailbox of
// From, To and Cc (RFC 5256 §3 sorts by it), at most kMaxSortText bytes of the subject, date
// and ids, the last kMaxSortText * 4 bytes of References (threading follows its last
// references). A mailbox of strangers' mail can hold headers of a megabyte and To fields of
// thousands of addresses; SORT and THREAD then hold what they compare, not what was sent.
inline constexpr std::size_t kMaxSortText = 4096;
void trim_for_sorting(SortMessage& message);

// RFC 5256 §2.1: the subject without "Re:", "Fwd:", "[list]" prefixes, "(fwd)" trailers and
// "[fwd: ...]" wrapping, encoded words decoded, white space collapsed. `reply_or_forward` is
// set when any of those were taken off (THREAD=REFERENCES step 6).
std::string base_subject(std::string_view subject, bool* reply_or_forward = nullptr);

// An RFC 5322 date-time (obsolete zones too) as seconds since the epoch, UTC; nullopt if it
// cannot be read.
std::optional<std::int64_t> parse_sent_time(std::string_view value);

// What a message sorts by under some criteria, computed once: a value per criterion, and the
// sequence number (or, where the order is of UIDs, the UID) that breaks ties.
struct SortKeys {
  struct Value {
    std::int64_t number = 0;
    std::string text;
  };
  std::vector<Value> values;
  std::uint32_t seq = 0;
};
SortKeys sort_keys(const SortMessage& message, const std::vector<SortCriterion>& criteria);
bool sorts_before(const SortKeys& a, const SortKeys& b, const std::vector<SortCriterion>& criteria);

// The messages' indexes in the order the criteria give.
std::vector<std::size_t> sort_order(const std::vector<SortMessage>& messages,
                                    const std::vector<SortCriterion>& criteria);

struct ThreadNode {
  std::optional<std::size_t> message;  // index into the messages; none: a placeholder
  std::vector<ThreadNode> children;
};
enum class ThreadAlgorithm { ordered_subject, references };
std::vector<ThreadNode> thread_messages(const std::vector<SortMessage>& messages, ThreadAlgorithm algorithm);
// "(1 2 (3)(4 5))(6)": the THREAD response's data (RFC 5256 §5), sequence numbers or UIDs.
std::string format_threads(const std::vector<ThreadNode>& threads, const std::vector<SortMessage>& messages, bool uids);

}  // namespace mailstead::imap
