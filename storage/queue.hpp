#pragma once
// The outbound queue: messages waiting to go to other domains, with the state of each
// recipient. smtpd's inbound side adds entries (in the same transaction that delivers to the
// local recipients); the queue runner (outbound issue) takes due entries, records each
// recipient's outcome, and removes an entry once no recipient is pending.
//
// - An entry references its message's blob like a mailbox message does, so the bytes are
//   stored once for local and remote recipients alike.
// - A "due" index orders entries by their next attempt (the earliest of their pending
//   recipients), so finding work is a range scan, not a walk over the whole queue.
// - DSN parameters (RFC 3461: ENVID, RET, NOTIFY, ORCPT) are kept for the bounces.

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/accounts.hpp"
#include "storage/messages.hpp"
#include "storage/result.hpp"
#include "storage/store.hpp"

namespace mailstead::storage {

using QueueId = std::uint64_t;

// The next attempt of a held recipient (`mailstead queue hold`): never due until released.
inline constexpr std::int64_t kHeld = std::numeric_limits<std::int64_t>::max();

enum class RecipientState : std::uint8_t { pending = 0, delivered = 1, failed = 2 };

// RFC 3461 NOTIFY; none of them set means the default (failure, and maybe delay).
enum Notify : std::uint8_t { kNotifyNever = 1, kNotifySuccess = 2, kNotifyFailure = 4, kNotifyDelay = 8 };

struct QueuedRecipient {
  std::string address;
  RecipientState state = RecipientState::pending;
  std::uint32_t attempts = 0;
  std::int64_t next_attempt = 0;  // seconds since the epoch
  std::string last_error;         // the last reply or failure, for the sender and the admin
  std::string orcpt;              // RFC 3461 ORCPT, as given
  std::uint8_t notify = 0;
  bool delay_notified = false;  // the sender was told once that it is late (RFC 3464 "delayed")
};

struct QueueEntry {
  QueueId id = 0;
  std::string sender;  // envelope sender; empty for the null sender <> (bounces)
  BlobId blob;
  std::uint64_t size = 0;
  std::int64_t created = 0;
  UserId submitted_by = 0;   // the authenticated user, 0 for relayed mail
  std::string envid;         // RFC 3461 ENVID
  bool return_full = false;  // RFC 3461 RET=FULL (else HDRS)
  std::vector<QueuedRecipient> recipients;

  // The earliest next attempt of a pending recipient, or nullopt when none is pending.
  std::optional<std::int64_t> next_attempt() const;
};

struct NewQueueEntry {
  std::string sender;
  std::vector<QueuedRecipient> recipients;  // address, orcpt and notify are read
  UserId submitted_by = 0;
  std::string envid;
  bool return_full = false;
  std::int64_t not_before = 0;  // first attempt no earlier than this (sending limits); 0: now
};

Result<QueueEntry> enqueue(WriteTxn& txn, std::string_view bytes, const NewQueueEntry& entry);
std::optional<QueueEntry> find_queue_entry(const ReadTxn& txn, QueueId id);
// Entries whose next attempt is at or before `now`, earliest first.
std::vector<QueueEntry> due_entries(const ReadTxn& txn, std::int64_t now, std::size_t limit);
std::vector<QueueEntry> list_queue(const ReadTxn& txn);
// Stores the runner's changes to an entry; an entry with no pending recipient is removed.
Result<void> update_queue_entry(WriteTxn& txn, const QueueEntry& entry);
Result<void> remove_queue_entry(WriteTxn& txn, QueueId id);

}  // namespace mailstead::storage
