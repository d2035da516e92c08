#pragma once
// One POP3 connection of mailstead-pop3d (RFC 1939, RFC 2449 CAPA and response codes,
// RFC 2595 STLS, RFC 5034 AUTH PLAIN/LOGIN).

#include "common/net/connection.hpp"
#include "pop3d/maildrop_locks.hpp"
#include "session/services.hpp"

namespace mailstead::pop3 {

struct Pop3Context {
  session::Services services;
  MaildropLocks& locks;
};

net::awaitable<void> serve_pop3(net::Connection& connection, const Pop3Context& context);

}  // namespace mailstead::pop3
