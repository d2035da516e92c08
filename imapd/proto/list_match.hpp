#pragma once
// LIST patterns (RFC 9051 §6.3.9): "*" matches anything, "%" anything but the hierarchy
// separator; the reference is prefixed to the pattern. Pure.

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mailstead::imap {

// The pattern LIST matches names against: reference and pattern joined.
std::string list_pattern(std::string_view reference, std::string_view pattern, char separator);
// Whether `name` (UTF-8, canonical: "INBOX" upper-case) matches; an "INBOX" prefix of the
// pattern matches case-insensitively.
bool matches_pattern(std::string_view name, std::string_view pattern, char separator);

// Which names LIST or LSUB answers with, from the user's mailbox names and subscriptions (each
// sorted by name, INBOX first or not there).
struct ListSelection {
  bool subscribed_only = false;  // LSUB, or LIST (SUBSCRIBED)
  bool recursive_match = false;  // LIST (... RECURSIVEMATCH), RFC 5258 §3
  bool lsub = false;
};
struct ListedName {
  std::string name;
  std::optional<std::size_t> mailbox;  // its index in the mailbox names; none: no mailbox
  bool subscribed = false;
  bool has_children = false;  // mailboxes below it
  // A subscribed name below it does not match the pattern: RECURSIVEMATCH answers CHILDINFO
  // (RFC 5258 §3.5), LSUB lists it \Noselect in the child's place (RFC 3501 §6.3.9).
  bool subscribed_below = false;
};
// In the order LIST answers: INBOX first, then by name.
std::vector<ListedName> select_names(std::span<const std::string> mailboxes, std::span<const std::string> subscriptions,
                                     std::span<const std::string> patterns, const ListSelection& selection,
                                     char separator);

}  // namespace mailstead::imap
