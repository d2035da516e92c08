#pragma once
// Mailboxes of a user: a hierarchy of names split by the store's separator ("/" or "."), each
// with a fixed id, UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ and a special-use attribute (RFC 6154),
// and the user's subscriptions: names of their own, which outlive their mailboxes (RFC 9051
// §6.3.7: a server never drops a subscription by itself) and follow them through a RENAME.
//
// - INBOX is matched case-insensitively and always stored as "INBOX" (RFC 3501 §5.1).
// - Names are valid UTF-8 without control characters, with no empty level and no leading or
//   trailing separator; at most 1024 bytes.
// - UIDVALIDITY comes from a store-wide counter that starts at the creation time of the store,
//   so a mailbox deleted and created again under the same name never repeats a value.
// - A new user gets INBOX, Sent, Drafts, Trash, Junk and Archive, all subscribed.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/accounts.hpp"
#include "storage/result.hpp"
#include "storage/store.hpp"

namespace mailstead::storage {

using MailboxId = std::uint32_t;

enum class SpecialUse { none, sent, drafts, trash, junk, archive };
std::string_view to_imap_attribute(SpecialUse use);  // "\\Sent", or "" for none

struct Mailbox {
  MailboxId id = 0;
  UserId user = 0;
  std::string name;
  std::uint32_t uid_validity = 0;
  std::uint32_t uid_next = 1;
  std::uint64_t highest_modseq = 1;
  SpecialUse special_use = SpecialUse::none;
  bool noselect = false;       // a deleted mailbox kept because it has children (RFC 3501 §6.3.4)
  std::uint64_t messages = 0;  // kept current by every append and expunge
  std::uint64_t bytes = 0;
  // \Recent (IMAP4rev1, RFC 3501 §2.3.2): messages from this UID on have not been announced
  // as recent to any session yet.
  std::uint32_t recent_floor = 1;
};

// The canonical form of a mailbox name, or why it cannot be one.
Result<std::string> normalize_mailbox_name(std::string_view name, char separator);

// Creates `name` and any missing parent levels (RFC 3501 §6.3.3), subscribing to each if
// `subscribed`. already_exists if `name` is there.
Result<Mailbox> create_mailbox(WriteTxn& txn, UserId user, std::string_view name,
                               SpecialUse special_use = SpecialUse::none, bool subscribed = false);
Result<Mailbox> find_mailbox(const ReadTxn& txn, UserId user, std::string_view name);
Result<Mailbox> mailbox_by_id(const ReadTxn& txn, MailboxId id);
std::vector<Mailbox> list_mailboxes(const ReadTxn& txn, UserId user);  // by name
// Every mailbox of every user, by id, until `fn` returns false.
void for_each_mailbox(const ReadTxn& txn, const std::function<bool(const Mailbox&)>& fn);
// SUBSCRIBE takes any valid name, a mailbox's or not (at most 10,000 a user: limit);
// UNSUBSCRIBE answers not_found for a name that is not subscribed.
Result<void> set_subscribed(WriteTxn& txn, UserId user, std::string_view name, bool subscribed);
std::vector<std::string> subscribed(const ReadTxn& txn, UserId user);  // by name
bool is_subscribed(const ReadTxn& txn, UserId user, std::string_view name);

// Renames a mailbox and its children, keeping ids and UIDs (RFC 3501 §6.3.5). Renaming INBOX
// moves its messages into a new mailbox of that name and leaves INBOX empty; its children stay.
Result<void> rename_mailbox(WriteTxn& txn, UserId user, std::string_view from, std::string_view to);
// Deletes a mailbox with its messages, not its subscription. One that has children becomes
// \Noselect instead (RFC 3501 §6.3.4); INBOX cannot be deleted.
Result<void> delete_mailbox(WriteTxn& txn, UserId user, std::string_view name);

// Hands the messages not yet announced as \Recent to the caller's session, once: returns
// the old recent_floor and moves it to UIDNEXT. Writes nothing to the change log (nothing a
// client could see changed).
Result<std::uint32_t> claim_recent(WriteTxn& txn, MailboxId id);

// Writes a changed mailbox record (for the message operations).
void save_mailbox(WriteTxn& txn, const Mailbox& mailbox);

Result<void> create_default_mailboxes(WriteTxn& txn, UserId user);
void remove_all_mailboxes(WriteTxn& txn, UserId user);

}  // namespace mailstead::storage
