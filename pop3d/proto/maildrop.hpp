#pragma once
// The maildrop as one POP3 session sees it (RFC 1939 §4-§6): a snapshot of the INBOX taken at
// login, numbered 1..n in UID order for the whole session, with the session's deletion marks.
// Pure state, no storage: the session fills it and applies `deleted_uids()` in UPDATE.

#include <cstdint>
#include <string>
#include <vector>

namespace mailstead::pop3 {

struct MaildropEntry {
  std::uint32_t uid = 0;
  std::uint64_t size = 0;  // octets RETR sends before dot-stuffing (stored mail is CRLF)
  bool deleted = false;
  bool retrieved = false;  // RETR sent it whole: marked \Seen in UPDATE
};

enum class Lookup { ok, no_such_message, deleted };

class Maildrop {
 public:
  Maildrop() = default;
  Maildrop(std::uint32_t uid_validity, std::vector<MaildropEntry> entries);

  std::uint32_t count() const { return static_cast<std::uint32_t>(entries_.size()); }
  // Messages and octets not marked deleted (STAT).
  std::uint32_t live_messages() const { return live_messages_; }
  std::uint64_t live_octets() const { return live_octets_; }

  Lookup lookup(std::uint32_t number) const;
  const MaildropEntry& entry(std::uint32_t number) const { return entries_[number - 1]; }
  // A unique-id that no other message of this mailbox ever gets (RFC 1939 §7: stable across
  // sessions): UID and UIDVALIDITY in hex, the form Dovecot's default uses, so clients that
  // move from Dovecot keep recognising messages when UIDs carry over.
  std::string unique_id(std::uint32_t number) const;

  Lookup mark_deleted(std::uint32_t number);
  void mark_retrieved(std::uint32_t number) { entries_[number - 1].retrieved = true; }
  void reset();  // RSET: unmark every deletion

  std::vector<std::uint32_t> deleted_uids() const;
  std::vector<std::uint32_t> retrieved_uids() const;  // retrieved and not deleted

 private:
  std::uint32_t uid_validity_ = 0;
  std::vector<MaildropEntry> entries_;
  std::uint32_t live_messages_ = 0;
  std::uint64_t live_octets_ = 0;
};

}  // namespace mailstead::pop3
