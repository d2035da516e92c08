#pragma once
// Password verification off the event loop: a small fixed pool of threads runs libxcrypt, so a
// 50 ms yescrypt check delays only the session that asked, and a flood of logins queues up
// instead of creating threads.

#include "common/auth/password.hpp"
#include "common/net/asio.hpp"
#include "common/secret.hpp"

namespace mailstead::net {

class PasswordPool {
 public:
  explicit PasswordPool(unsigned threads) : pool_(threads) {}
  ~PasswordPool() { pool_.join(); }

  // Resumes the caller on its own executor with the verdict.
  awaitable<auth::Verdict> verify(Secret password, std::string hash);

 private:
  asio::thread_pool pool_;
};

}  // namespace mailstead::net
