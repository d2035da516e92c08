#pragma once
// Annotations on mailboxes and on the server (IMAP METADATA, RFC 5464): named entries with
// values. An entry under "/shared/" has one value for everyone who may see its mailbox; one
// under "/private/" has a value per user (RFC 5464 §3.2). Server entries hang off mailbox id
// kServerMetadata, which no mailbox has.
//
// - Names are compared case-insensitively (§3.2) and returned as first written; whether a
//   name is well formed is the protocol's check (imapd/proto), not the store's.
// - Entries follow their mailbox through a RENAME (they are keyed by its id), are copied when
//   INBOX is renamed (§4.1: INBOX keeps its own), and go with the mailbox when it is deleted
//   and with the user when the user is removed.
// - What one user may hold is bounded: a set that would take the user past
//   MetadataLimits::max_entries entries (those of their mailboxes and their server entries)
//   fails whole with Errc::limit.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/accounts.hpp"
#include "storage/mailboxes.hpp"
#include "storage/result.hpp"
#include "storage/store.hpp"

namespace mailstead::storage {

inline constexpr MailboxId kServerMetadata = 0;

struct MetadataEntry {
  std::string name;  // as first written, "/private/comment"
  std::string value;
};

struct MetadataChange {
  std::string name;
  std::optional<std::string> value;  // nullopt removes the entry
};

struct MetadataLimits {
  unsigned max_entries = 200;  // per user
};

// Whether an entry is a user's own ("/private/...") rather than the mailbox's (RFC 5464 §3.2).
bool is_private_entry(std::string_view name);

// The entries `user` sees on `mailbox` (or the server): its shared entries and the user's
// private ones, in order of their lower-cased names.
std::vector<MetadataEntry> metadata_of(const ReadTxn& txn, UserId user, MailboxId mailbox);

// Sets and removes entries of `mailbox` (or the server) as `user`, all or none. The entries are
// charged to `owner` (the mailbox's owner; the user for server entries).
Result<void> set_metadata(WriteTxn& txn, UserId user, UserId owner, MailboxId mailbox,
                          const std::vector<MetadataChange>& changes, const MetadataLimits& limits);

// Entries charged to `owner`: those of the owner's mailboxes (shared and private) and the
// owner's private server entries.
std::size_t count_metadata(const ReadTxn& txn, UserId owner);

}  // namespace mailstead::storage
