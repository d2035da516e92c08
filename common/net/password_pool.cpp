#include "common/net/password_pool.hpp"

namespace mailstead::net {

awaitable<auth::Verdict> PasswordPool::verify(Secret password, std::string hash) {
  co_return co_await asio::co_spawn(
      pool_,
      [password = std::move(password), hash = std::move(hash)]() -> awaitable<auth::Verdict> {
        co_return auth::verify_password(password.reveal(), hash);
      },
      asio::use_awaitable);
}

}  // namespace mailstead::net
