// `mailstead check`: the store's invariants (storage/check.hpp), verified in one read view
// while the daemons run.

#include <fmt/format.h>

#include "admin/command.hpp"
#include "admin/store_access.hpp"
#include "storage/check.hpp"

namespace mailstead::admin {
namespace {

int check(const Invocation& inv) {
  auto access = open_store(inv);
  if (!access) return kExitFailure;
  auto result = storage::check_store(access->store->read());
  if (inv.has("--json")) {
    std::string problems = "[";
    for (const auto& p : result.problems) problems += (problems.size() > 1 ? "," : "") + json_string(p);
    fmt::print(R"({{"users":{},"mailboxes":{},"messages":{},"blobs":{},"queue_entries":{},"problems":{}]}})"
               "\n",
               result.users, result.mailboxes, result.messages, result.blobs, result.queue_entries, problems);
  } else {
    for (const auto& p : result.problems) fmt::print("problem: {}\n", p);
    fmt::print("{}: {} users, {} mailboxes, {} messages, {} blobs, {} queue entries\n",
               result.problems.empty() ? "consistent" : "NOT CONSISTENT", result.users, result.mailboxes,
               result.messages, result.blobs, result.queue_entries);
  }
  return result.problems.empty() ? kExitOk : kExitFailure;
}

const std::vector<Command> kCommands = {
    {{"check"},
     "",
     "verify the mail store's invariants",
     "Reads the whole store in one consistent view, while the daemons go on serving, and checks\n"
     "what every daemon relies on: each message has its bytes and a readable structure, UIDs and\n"
     "modseqs are within their mailbox's counters, mailbox counters and each user's usage (what\n"
     "quotas are checked against) add up, users and mailboxes are found through their indexes,\n"
     "and every stored message body is referenced exactly as often as it is counted.\n"
     "Exit status 0 when all of it holds, 1 with each problem listed otherwise.",
     0,
     0,
     {kJson},
     check},
};

}  // namespace

std::span<const Command> check_commands() {
  return kCommands;
}

}  // namespace mailstead::admin
