#pragma once
// Which maildrops have a session open (RFC 1939 §4: the server locks the maildrop when the
// session enters TRANSACTION). Held in the daemon's memory, not in the store: a lock must
// never outlive its process, and mailstead-pop3d is the only process serving POP3.

#include <mutex>
#include <unordered_set>

#include "storage/accounts.hpp"

namespace mailstead::pop3 {

class MaildropLocks {
 public:
  bool try_lock(storage::UserId user) {
    std::lock_guard guard(mutex_);
    return held_.insert(user).second;
  }
  void unlock(storage::UserId user) {
    std::lock_guard guard(mutex_);
    held_.erase(user);
  }

 private:
  std::mutex mutex_;
  std::unordered_set<storage::UserId> held_;
};

}  // namespace mailstead::pop3
