#pragma once
// One IMAP connection of mailstead-imapd (RFC 9051 IMAP4rev2 and RFC 3501 IMAP4rev1, with the
// extensions listed in CAPABILITY).

#include "common/net/connection.hpp"
#include "imapd/recent_claims.hpp"
#include "imapd/snapshot_cache.hpp"
#include "imapd/watcher.hpp"
#include "session/services.hpp"

namespace mailstead::imap {

struct ImapContext {
  session::Services services;
  ChangeWatcher& watcher;
  SnapshotCache& snapshots;
  RecentClaims& recent;
};

net::awaitable<void> serve_imap(net::Connection& connection, const ImapContext& context);

}  // namespace mailstead::imap
