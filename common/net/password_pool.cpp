#include "common/net/password_pool.hpp"

namespace mailstead::net {
namespace {

// A named coroutine with by-value parameters, not a capturing lambda: with g++ 12 the captures
// of a lambda temporary handed to co_spawn inside a co_await are used after they are freed
// (seen under AddressSanitizer). See docs/ARCHITECTURE.md, "Coroutine rules".
awaitable<auth::Verdict> verify_here(Secret password, std::string hash) {
  co_return auth::verify_password(password.reveal(), hash);
}

}  // namespace

awaitable<auth::Verdict> PasswordPool::verify(Secret password, std::string hash) {
  co_return co_await asio::co_spawn(pool_, verify_here(std::move(password), std::move(hash)), asio::use_awaitable);
}

}  // namespace mailstead::net
