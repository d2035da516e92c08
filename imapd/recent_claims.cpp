#include "imapd/recent_claims.hpp"

#include <algorithm>

namespace mailstead::imap {

std::uint32_t RecentClaims::claim(storage::MailboxId mailbox, std::uint32_t stored_floor, std::uint32_t up_to) {
  std::lock_guard lock(mutex_);
  auto it = floors_.find(mailbox);
  std::uint32_t first = stored_floor;
  if (it != floors_.end()) {
    if (it->second <= stored_floor)
      floors_.erase(it);  // the store caught up: the entry says nothing more
    else
      first = it->second;
  }
  if (up_to > first) floors_[mailbox] = up_to;
  return first;
}

std::uint32_t RecentClaims::floor(storage::MailboxId mailbox, std::uint32_t stored_floor) const {
  std::lock_guard lock(mutex_);
  auto it = floors_.find(mailbox);
  return it == floors_.end() ? stored_floor : std::max(it->second, stored_floor);
}

}  // namespace mailstead::imap
