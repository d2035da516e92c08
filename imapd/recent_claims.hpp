#pragma once
// \Recent (IMAP4rev1, RFC 3501 §2.3.2): a message is recent in one session only, the first to
// be told about it; a read-only session sees what nobody claimed yet without claiming it.
//
// A read-write SELECT claims what arrived since the mailbox was last selected through the
// store (storage::claim_recent, one write). Messages arriving while a session has the mailbox
// selected are claimed here, in memory, by the first session of this process to learn of
// them: every session that reports \Recent lives in this one process, and a write per new
// message and session would cost an fsync each. These claims are not written back, so after
// a restart a message that was announced only during a selection may be recent once more.

#include <cstdint>
#include <mutex>
#include <unordered_map>

#include "storage/mailboxes.hpp"

namespace mailstead::imap {

class RecentClaims {
 public:
  // Gives the caller the UIDs from the first unclaimed one (per `stored_floor` and this
  // process's claims) up to, not including, `up_to`; returns that first UID (>= up_to: none).
  std::uint32_t claim(storage::MailboxId mailbox, std::uint32_t stored_floor, std::uint32_t up_to);
  // The first UID nobody has claimed.
  std::uint32_t floor(storage::MailboxId mailbox, std::uint32_t stored_floor) const;

 private:
  mutable std::mutex mutex_;
  // Only mailboxes whose in-memory floor is ahead of the stored one.
  std::unordered_map<storage::MailboxId, std::uint32_t> floors_;
};

}  // namespace mailstead::imap
