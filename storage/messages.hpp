#pragma once
// Messages in mailboxes, their flags, and the bytes behind them.
//
// - A message is (mailbox id, UID) -> flags, keywords, internal date, size, modseq, blob id.
//   UIDs in a mailbox strictly increase and are never reused (RFC 3501 §2.3.1.1).
// - Blobs are the raw RFC 5322 bytes, content-addressed by SHA-256 and reference-counted:
//   a message delivered to 50 local users, or copied between mailboxes, is stored once; the
//   bytes go away with the last reference. They live inside the LMDB environment, so a
//   message record and its blob are committed by the same transaction: no record can point at
//   a missing blob and no blob can be orphaned, whatever crashes.
// - The MIME structure (header fields, ENVELOPE and BODYSTRUCTURE material) is parsed once when
//   a message is stored, its preview text made from it, and both kept with the message, not with the blob: a mailbox's
//   records then lie together in UID order, which is the order SEARCH and FETCH walk them in.
// - Every change (append, flag change, expunge) takes the next value of the store-wide modseq
//   counter, recorded on the message, as the mailbox's HIGHESTMODSEQ, and in the change log
//   (changes.hpp), which is how other sessions and processes learn about it.
// - Quotas are checked against each user's usage counters inside the same write transaction,
//   so the check is exact however many sessions deliver at once.

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/mime/mime.hpp"
#include "storage/accounts.hpp"
#include "storage/mailboxes.hpp"
#include "storage/result.hpp"
#include "storage/store.hpp"

namespace mailstead::storage {

using Uid = std::uint32_t;

// System flags (RFC 9051 §2.3.2); \Recent is per session and never stored.
enum Flag : std::uint32_t {
  kSeen = 1,
  kAnswered = 2,
  kFlagged = 4,
  kDeleted = 8,
  kDraft = 16,
};
inline constexpr std::uint32_t kAllFlags = kSeen | kAnswered | kFlagged | kDeleted | kDraft;

struct BlobId {
  std::array<std::uint8_t, 32> bytes{};  // SHA-256 of the content
  std::string hex() const;
  friend bool operator==(const BlobId&, const BlobId&) = default;
};

struct Message {
  MailboxId mailbox = 0;
  Uid uid = 0;
  std::uint32_t flags = 0;
  std::vector<std::string> keywords;  // sorted, unique
  std::int64_t internal_date = 0;     // seconds since the epoch
  std::uint64_t size = 0;             // octets
  std::uint64_t modseq = 0;
  BlobId blob;
  // When the message was put in this mailbox (delivery, APPEND, COPY, MOVE; RFC 8514's save
  // date), seconds since the epoch; 0 for a message stored before store format 4.
  std::int64_t saved = 0;
  // Its thread of conversation (RFC 8474 THREADID; storage/detail/threads.hpp): the same for
  // its copies and for the replies the same user has; 0 for a message stored before threads were.
  std::uint64_t thread = 0;
};

struct Usage {
  std::uint64_t bytes = 0;
  std::uint64_t messages = 0;
};

struct AppendOptions {
  std::uint32_t flags = 0;
  std::vector<std::string> keywords;
  std::int64_t internal_date = 0;  // 0: now
};

struct DeliveryOutcome {
  UserId user = 0;
  Result<Message> result;
};

// A message made ready to be stored: its bytes with CRLF line ends (common/text/line_ends.hpp:
// POP3 and IMAP sizes are then simply the stored size), their content hash, and the parsed
// structure record. Made before the write transaction: parsing costs time in proportion to the
// message and the store has one writer, so nothing that can be done before it is done under
// it. Structure limits summarise the index, never the bytes (mime.hpp).
class PreparedMessage {
 public:
  std::string_view bytes() const { return borrowed_ ? *borrowed_ : std::string_view(owned_); }
  std::size_t size() const { return bytes().size(); }
  const mime::ParseStats& stats() const { return stats_; }

 private:
  friend PreparedMessage prepare_message(std::string bytes, const mime::Limits& limits);
  friend PreparedMessage prepare_borrowed(std::string_view bytes, const mime::Limits& limits);
  friend Result<Message> append_message(WriteTxn&, const Mailbox&, const PreparedMessage&, const AppendOptions&);
  friend std::vector<DeliveryOutcome> deliver_message(WriteTxn&, const PreparedMessage&, const std::vector<UserId>&,
                                                      std::int64_t, SpecialUse);
  void finish(const mime::Limits& limits);
  std::string owned_;
  std::optional<std::string_view> borrowed_;
  BlobId blob_;
  std::string structure_;
  std::optional<std::string> thread_own_;  // detail::ThreadKeys, kept here without the detail header
  std::vector<std::string> thread_parents_;
  mime::ParseStats stats_;
};

PreparedMessage prepare_message(std::string bytes, const mime::Limits& limits = {});
// The same without a copy of bytes that need none: they must outlive the result.
PreparedMessage prepare_borrowed(std::string_view bytes, const mime::Limits& limits);

// Adds one message to a mailbox (IMAP APPEND, or delivery into one mailbox). over_quota when
// the owner's quota would be exceeded; invalid_argument for an empty message.
Result<Message> append_message(WriteTxn& txn, const Mailbox& mailbox, const PreparedMessage& message,
                               const AppendOptions& options = {});

// Local delivery: the message into the INBOX of each user, its blob stored once. Each
// recipient's outcome is separate (one may be over quota while the others receive it). With
// `into` (SpecialUse::junk for mail a check judged suspect), into each user's mailbox of that
// special use instead, or the INBOX for a user who has none.
std::vector<DeliveryOutcome> deliver_message(WriteTxn& txn, const PreparedMessage& message,
                                             const std::vector<UserId>& users, std::int64_t internal_date = 0,
                                             SpecialUse into = SpecialUse::none);

std::optional<Message> find_message(const ReadTxn& txn, MailboxId mailbox, Uid uid);
// Every message of a mailbox in UID order; fn returns false to stop.
void for_each_message(const ReadTxn& txn, MailboxId mailbox, const std::function<bool(const Message&)>& fn);
// The same, from the first message whose UID is `first` or higher.
void for_each_message_from(const ReadTxn& txn, MailboxId mailbox, Uid first,
                           const std::function<bool(const Message&)>& fn);
std::vector<Uid> list_uids(const ReadTxn& txn, MailboxId mailbox);
// How many messages of the mailbox have a UID of at least `first` (a range scan of keys).
std::uint64_t count_messages_from(const ReadTxn& txn, MailboxId mailbox, Uid first);

// The message's bytes, straight from the map: valid until the transaction ends.
std::optional<std::string_view> read_blob(const ReadTxn& txn, const BlobId& blob);
std::uint32_t blob_refcount(const ReadTxn& txn, const BlobId& blob);  // 0 if absent
// The MIME structure computed when the message was stored (ENVELOPE, BODYSTRUCTURE,
// sections); nullopt if the message is gone.
std::optional<mime::Part> message_structure(const ReadTxn& txn, const Message& message);
// Its preview (RFC 8970, common/mime/preview.hpp), made when it was stored; nullopt if the
// message is gone or was stored before previews were (make_preview over its bytes and
// structure then gives what would have been stored).
std::optional<std::string> stored_preview(const ReadTxn& txn, const Message& message);
// Only its ENVELOPE (empty if it has none), from the same record; nullopt if the message is
// gone. Much cheaper than the whole structure.
std::optional<mime::Envelope> message_envelope(const ReadTxn& txn, const Message& message);
// Its top-level header fields from the same record, as views valid until the transaction
// ends, without decoding the rest; false if the message is gone. fn returns false to stop.
bool for_each_header_field(const ReadTxn& txn, const Message& message,
                           const std::function<bool(std::string_view name, std::string_view value)>& fn);

enum class FlagOperation { replace, add, remove };
// Changes the flags of one message (STORE). With unchanged_since (CONDSTORE, RFC 7162
// §3.1.3) a message modified after that modseq is left alone and reported as a conflict.
struct FlagChange {
  Message message;
  bool changed = false;   // false when the flags were already so (no new modseq)
  bool conflict = false;  // true when unchanged_since refused the change
};
Result<FlagChange> store_flags(WriteTxn& txn, MailboxId mailbox, Uid uid, FlagOperation op, std::uint32_t flags,
                               const std::vector<std::string>& keywords,
                               std::optional<std::uint64_t> unchanged_since = std::nullopt);

// Copies messages to another mailbox of the same or another user, giving them new UIDs in
// order (RFC 4315 COPYUID). Flags and internal dates are kept; the blob is shared.
struct CopyResult {
  std::vector<Uid> source_uids;
  std::vector<Uid> target_uids;
  std::uint32_t target_uid_validity = 0;
};
Result<CopyResult> copy_messages(WriteTxn& txn, MailboxId source, const std::vector<Uid>& uids, const Mailbox& target);
// COPY, then EXPUNGE of the originals (RFC 6851).
Result<CopyResult> move_messages(WriteTxn& txn, MailboxId source, const std::vector<Uid>& uids, const Mailbox& target);

// Removes the given messages (those that exist); returns the UIDs removed, ascending.
std::vector<Uid> expunge_messages(WriteTxn& txn, MailboxId mailbox, const std::vector<Uid>& uids);
// Removes every message with \Deleted (IMAP EXPUNGE / CLOSE).
std::vector<Uid> expunge_deleted(WriteTxn& txn, MailboxId mailbox);

Usage usage_of(const ReadTxn& txn, UserId user);

// Canonical keyword form: IMAP atoms, compared case-insensitively (RFC 9051 §2.3.2) and
// stored as first written. Returns false for names that are not atoms or begin with '\'.
bool valid_keyword(std::string_view keyword);

}  // namespace mailstead::storage
