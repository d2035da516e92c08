#include "common/net/privileges.hpp"

#include <fmt/format.h>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <system_error>
#include <vector>

#include "common/log/log.hpp"

namespace mailstead::net {
namespace {

struct Identity {
  uid_t uid;
  gid_t gid;
};

Identity look_up(const std::string& user, const std::string& group) {
  std::vector<char> buffer(16384);
  passwd pw{};
  passwd* found = nullptr;
  int rc = getpwnam_r(user.c_str(), &pw, buffer.data(), buffer.size(), &found);
  if (rc != 0 || !found) throw PrivilegeError(fmt::format("server.user: no such user \"{}\"", user));
  Identity id{pw.pw_uid, pw.pw_gid};
  if (!group.empty()) {
    ::group gr{};
    ::group* gfound = nullptr;
    rc = getgrnam_r(group.c_str(), &gr, buffer.data(), buffer.size(), &gfound);
    if (rc != 0 || !gfound) throw PrivilegeError(fmt::format("server.group: no such group \"{}\"", group));
    id.gid = gr.gr_gid;
  }
  return id;
}

}  // namespace

void check_identity(const std::string& user, const std::string& group) {
  if (!user.empty()) look_up(user, group);
}

void drop_privileges(const std::string& user, const std::string& group) {
  if (user.empty()) {
    if (geteuid() == 0) log::warn("-", "running_as_root", "reason=\"server.user is empty\"");
    return;
  }
  Identity target = look_up(user, group);
  if (geteuid() != 0) {
    if (geteuid() != target.uid)
      throw PrivilegeError(
          fmt::format("server.user is \"{}\" but the daemon runs as uid {} and is not root", user, geteuid()));
    return;
  }
  if (setgroups(1, &target.gid) != 0)
    throw PrivilegeError(fmt::format("setgroups: {}", std::generic_category().message(errno)));
  if (setresgid(target.gid, target.gid, target.gid) != 0)
    throw PrivilegeError(fmt::format("setresgid: {}", std::generic_category().message(errno)));
  if (setresuid(target.uid, target.uid, target.uid) != 0)
    throw PrivilegeError(fmt::format("setresuid: {}", std::generic_category().message(errno)));
  if (target.uid != 0 && (setuid(0) == 0 || seteuid(0) == 0))
    throw PrivilegeError("privileges could be regained after dropping them");
  log::info("-", "privileges_dropped", "user={} uid={} gid={}", user, target.uid, target.gid);
}

}  // namespace mailstead::net
