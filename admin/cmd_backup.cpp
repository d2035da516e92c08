// mailstead backup FILE|-

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "admin/store_access.hpp"

namespace mailstead::admin {
namespace {

int backup(const Invocation& inv) {
  std::string target(inv.args[0]);
  bool to_stdout = target == "-";
  // Opened as the caller, before open_store() drops to server.user: root may keep backups
  // where the mail server's user cannot write. O_EXCL: never overwrite an earlier backup.
  int fd = to_stdout ? STDOUT_FILENO : ::open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    fmt::print(stderr, "mailstead: cannot create {}: {}\n", target, std::strerror(errno));
    return kExitFailure;
  }
  if (to_stdout && ::isatty(fd)) {
    fmt::print(stderr, "mailstead: will not write a backup to a terminal; redirect it, or name a file\n");
    return kExitUsage;
  }
  auto access = open_store(inv);
  if (!access) {
    if (!to_stdout) ::unlink(target.c_str());
    return kExitFailure;
  }
  try {
    access->store->copy_to(fd);
    if (!to_stdout && ::fsync(fd) != 0)
      throw storage::StorageError(storage::Errc::io_error, fmt::format("fsync {}: {}", target, std::strerror(errno)));
  } catch (const storage::StorageError& e) {
    fmt::print(stderr, "mailstead: backup failed: {}\n", e.what());
    if (!to_stdout) ::unlink(target.c_str());
    return kExitFailure;
  }
  if (!to_stdout) {
    ::close(fd);
    fmt::print(stderr, "mailstead: backup written to {}\n", target);
  }
  return kExitOk;
}

const std::vector<Command> kCommands = {
    {{"backup"},
     "FILE|-",
     "write a consistent copy of the mail store while the daemons run",
     "Writes the whole mail store (accounts, mailboxes, messages, the queue) as one compacted\n"
     "LMDB file, a snapshot of the moment the command starts, while the daemons go on serving.\n"
     "FILE must not exist; `-` writes to standard output (e.g. `mailstead backup - | gzip > b.gz`).\n"
     "To restore: stop the daemons, copy the file to data.mdb in server.data_dir (owned by\n"
     "server.user, mode 640), remove lock.mdb there, and start them again.",
     1,
     1,
     {},
     backup},
};

}  // namespace

std::span<const Command> backup_commands() {
  return kCommands;
}

}  // namespace mailstead::admin
