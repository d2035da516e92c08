#pragma once
// IMAP commands (RFC 9051, with RFC 3501 forms and the extensions mailstead offers) as typed
// values, parsed by a pure function from the bytes of one whole command (lines and literals,
// see command_reader.hpp). One table in command_parser.cpp gives each command name its
// parser, the states that accept it and whether it has a UID form; the build checks it
// against the Arguments variant (common/command_table.hpp), and the session's handlers visit
// the variant, so a command without a handler does not compile. Each name has its own type.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "imapd/proto/fetch_items.hpp"
#include "imapd/proto/search_key.hpp"
#include "imapd/proto/sequence.hpp"
#include "imapd/proto/sort.hpp"

namespace mailstead::imap {

struct Capability {};
struct Noop {};
struct Logout {};
struct StartTls {};
struct Authenticate {
  std::string mechanism;
  std::optional<std::string> initial;  // SASL-IR; "=" is an empty one
};
struct Login {
  std::string user;
  std::string password;
};
struct Enable {
  std::vector<std::string> capabilities;  // upper-case
};
// SELECT ... (QRESYNC (uidvalidity modseq [known-uids [(seq-match-data)]])) (RFC 7162 §3.2.5).
struct QresyncParameters {
  std::uint32_t uid_validity = 0;
  std::uint64_t modseq = 0;
  std::optional<SequenceSet> known_uids;
  // seq-match-data is parsed and not used: the change log says exactly what was expunged.
};
struct Select {
  std::string mailbox;     // as sent (modified UTF-7 unless UTF8=ACCEPT)
  bool read_only = false;  // EXAMINE
  bool condstore = false;
  std::optional<QresyncParameters> qresync;
};
// SELECT read-only (RFC 9051 §6.3.3).
struct Examine : Select {};
struct Create {
  std::string mailbox;
  std::optional<std::string> special_use;  // CREATE-SPECIAL-USE
};
struct Delete {
  std::string mailbox;
};
struct Rename {
  std::string from, to;
};
struct Subscribe {
  std::string mailbox;
  bool subscribe = true;
};
struct Unsubscribe : Subscribe {};
struct List {
  std::string reference;
  std::vector<std::string> patterns;
  bool lsub = false;
  // LIST-EXTENDED (RFC 5258) selection options
  bool select_subscribed = false;
  bool select_special_use = false;
  bool recursive_match = false;
  // return options
  bool return_subscribed = false;
  bool return_children = false;
  bool return_special_use = false;
  std::vector<std::string> return_status;  // LIST-STATUS (RFC 5819), upper-case items
  bool extended = false;                   // any option given: answer in the extended form
};
// RFC 3501 §6.3.9 (kept by RFC 9051 as a LIST form): patterns over subscriptions.
struct Lsub : List {};
struct Namespace {};
// RFC 8437: back to the not-authenticated state.
struct Unauthenticate {};
// RFC 4978: the mechanism, upper-case ("DEFLATE" is the only one there is).
struct Compress {
  std::string mechanism;
};
struct Status {
  std::string mailbox;
  std::vector<std::string> items;  // upper-case
};
struct AppendMessage {
  std::vector<std::string> flags;
  std::optional<std::string> date;  // date-time as sent
  std::string message;
};
struct Append {
  std::string mailbox;
  std::vector<AppendMessage> messages;  // more than one: MULTIAPPEND (RFC 3502)
};
// RFC 8508: REPLACE seq-number mailbox append-message; UID REPLACE names a UID.
struct Replace {
  std::uint32_t message = 0;  // 0: "*", the last message (seq-number, RFC 9051 §9)
  std::string mailbox;
  AppendMessage replacement;
};
struct Idle {};
struct Check {};
struct Close {};
struct Unselect {};
struct Expunge {
  std::optional<SequenceSet> uids;  // UID EXPUNGE
};
struct Search {
  SearchRequest request;
};
// RFC 5256 SORT (with RFC 5957 DISPLAYFROM/DISPLAYTO; RETURN: RFC 5267 ESORT): the charset is
// not optional here.
struct Sort {
  std::vector<SortCriterion> criteria;
  SearchRequest request;
};
struct Thread {
  ThreadAlgorithm algorithm = ThreadAlgorithm::references;
  SearchRequest request;
};
// RFC 5267 §4.3.5: CANCELUPDATE 1*(SP quoted), the tags of searches whose updates to stop.
struct CancelUpdate {
  std::vector<std::string> tags;
};
struct Fetch {
  SequenceSet set;
  FetchRequest request;
};
struct Store {
  enum class Operation { replace, add, remove };
  SequenceSet set;
  Operation operation = Operation::replace;
  bool silent = false;
  std::vector<std::string> flags;
  std::optional<std::uint64_t> unchanged_since;
};
struct Copy {
  SequenceSet set;
  std::string mailbox;
  bool move = false;
};
// COPY, then expunge the originals (RFC 6851).
struct Move : Copy {};
struct Id {
  std::vector<std::pair<std::string, std::string>> fields;
};
// QUOTA (RFC 9208): GETQUOTA root, GETQUOTAROOT mailbox, SETQUOTA root (resource limit ...).
struct GetQuota {
  std::string root;
};
struct GetQuotaRoot {
  std::string mailbox;
};
struct SetQuota {
  std::string root;
  std::vector<std::pair<std::string, std::uint64_t>> limits;  // resource names upper-case
};

// RFC 5464 METADATA. Entry names are checked by the parser (valid_metadata_entry); the
// mailbox is "" for server entries.
struct GetMetadata {
  enum class Depth { zero, one, infinity };
  std::string mailbox;
  std::vector<std::string> entries;
  std::optional<std::uint64_t> max_size;
  Depth depth = Depth::zero;
};
struct SetMetadata {
  std::string mailbox;
  std::vector<std::pair<std::string, std::optional<std::string>>> entries;  // NIL: remove
};

using Arguments =
    std::variant<Capability, Noop, Logout, StartTls, Authenticate, Login, Enable, Select, Examine, Create, Delete,
                 Rename, Subscribe, Unsubscribe, List, Lsub, Namespace, Status, Append, Idle, Check, Close, Unselect,
                 Expunge, Search, Sort, Thread, Fetch, Store, Copy, Move, Replace, Id, GetQuota, GetQuotaRoot, SetQuota,
                 Compress, Unauthenticate, GetMetadata, SetMetadata, CancelUpdate>;

struct Command {
  std::string tag;
  std::string name;  // upper-case, "UID FETCH" for UID forms
  bool uid = false;
  Arguments arguments;
};

struct ParseError {
  std::string tag;  // empty when not even a tag could be read: answer "* BAD"
  std::string text;
};

using ParseResult = std::variant<Command, ParseError>;

// `bytes` is the whole command including its final CRLF.
ParseResult parse_command(std::string_view bytes);

// The states of an IMAP session that read commands (RFC 9051 §3); Logout reads none.
enum class State { not_authenticated, authenticated, selected };

// Whether `state` accepts the command (RFC 9051 §6.1-§6.4 say which state each belongs to).
bool allowed(State state, const Arguments& arguments);
// Accepted only before authentication: STARTTLS, AUTHENTICATE, LOGIN.
bool before_login_only(const Arguments& arguments);

// RFC 5464 §3.2: "/private/" or "/shared/" and at least one more component (a vendor token
// after ".../vendor"), no "//", no "/" at the end, no "*" or "%", printable ASCII only; at most
// kMaxMetadataEntryName bytes.
inline constexpr std::size_t kMaxMetadataEntryName = 1024;
bool valid_metadata_entry(std::string_view name);

// Whether the command names messages by sequence number (RFC 9586 §3: refused with
// [UIDREQUIRED] once UIDONLY is enabled): the non-UID forms of FETCH, STORE, COPY, MOVE,
// SEARCH, SORT, THREAD and REPLACE, and any search criteria with a sequence set ("$", the
// saved result, holds UIDs and is not one).
bool uses_sequence_numbers(const Command& command);

// The tag of a command line, for refusing a command before it is complete; empty if none.
std::string_view peek_tag(std::string_view line);

// IMAP date-time (RFC 9051 "date-time": "dd-Mon-yyyy hh:mm:ss +zzzz") to seconds since the
// epoch; nullopt if malformed. And the date form of SEARCH ("d-Mon-yyyy") to days.
std::optional<std::int64_t> parse_date_time(std::string_view text);
std::optional<std::int64_t> parse_search_date(std::string_view text);

}  // namespace mailstead::imap
