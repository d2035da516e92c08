#pragma once
// Least authority: a daemon started as root binds its ports, then becomes the configured
// user and group before it reads a byte from a client.

#include <stdexcept>
#include <string>

namespace mailstead::net {

class PrivilegeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// As root: switch to `user` (and `group`, or the user's primary group), drop supplementary
// groups, and verify root cannot be regained. Not root: nothing to drop; if `user` names
// someone else, that is reported as an error, since the files would belong to the wrong user.
// An empty `user` keeps the current identity (a warning when that is root).
void drop_privileges(const std::string& user, const std::string& group);

// Throws PrivilegeError if `user` or `group` (when not empty) do not exist; for config checks.
void check_identity(const std::string& user, const std::string& group);

}  // namespace mailstead::net
