#pragma once
// What every protocol session of a daemon shares: the config, the store, the group committer
// that makes its writes durable, and the pool that verifies passwords off the event loop.

#include "common/config/config.hpp"
#include "common/net/password_pool.hpp"
#include "storage/group_commit.hpp"
#include "storage/store.hpp"

namespace mailstead::session {

struct Services {
  const config::Config& config;
  storage::Store& store;
  storage::GroupCommitter& committer;
  net::PasswordPool& passwords;
};

}  // namespace mailstead::session
