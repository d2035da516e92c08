// mailstead queue list|show|retry|hold|release|delete: the outbound queue, for operators.
//
// Holding an entry moves its pending recipients' next attempt to "never" (kHeld); releasing
// or retrying sets it to now. mailstead-smtpd's queue runner sees the change at its next scan
// (within 5 seconds).

#include <fmt/format.h>

#include <ctime>

#include "admin/command.hpp"
#include "admin/store_access.hpp"
#include "storage/queue.hpp"

namespace mailstead::admin {
namespace {

using namespace storage;

std::string_view state_name(const QueuedRecipient& r) {
  switch (r.state) {
    case RecipientState::pending:
      return r.next_attempt == kHeld ? "held" : "pending";
    case RecipientState::delivered:
      return "delivered";
    case RecipientState::failed:
      return "failed";
  }
  return "?";
}

std::string utc(std::int64_t seconds) {
  if (seconds == kHeld) return "never (held)";
  std::time_t t = seconds;
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                     tm.tm_min, tm.tm_sec);
}

std::string entry_json(const QueueEntry& e) {
  std::vector<std::string> rcpts;
  for (const auto& r : e.recipients)
    rcpts.push_back(fmt::format(R"({{"address":{},"state":"{}","attempts":{},"next_attempt":{},"last_error":{}}})",
                                json_string(r.address), state_name(r), r.attempts, r.next_attempt,
                                json_string(r.last_error)));
  return fmt::format(R"({{"id":{},"sender":{},"size":{},"created":{},"recipients":[{}]}})", e.id, json_string(e.sender),
                     e.size, e.created, fmt::join(rcpts, ","));
}

void print_entry(const QueueEntry& e) {
  fmt::print("{:<8} {} <{}> {} bytes\n", e.id, utc(e.created), e.sender, e.size);
  for (const auto& r : e.recipients)
    fmt::print("         {:<9} {} attempts={} next={} {}\n", state_name(r), r.address, r.attempts, utc(r.next_attempt),
               r.last_error);
}

std::optional<QueueId> queue_id(std::string_view text) {
  auto id = parse_number<std::uint64_t>(text);
  if (!id) fmt::print(stderr, "mailstead: \"{}\" is not a queue id\n", text);
  return id;
}

int queue_list(const Invocation& inv) {
  auto access = open_store(inv);
  if (!access) return kExitFailure;
  auto entries = list_queue(access->store->read());
  if (inv.has("--json")) return print_json_list(entries, entry_json), kExitOk;
  if (entries.empty()) fmt::print("the queue is empty\n");
  for (const auto& e : entries) print_entry(e);
  return kExitOk;
}

int queue_show(const Invocation& inv) {
  auto id = queue_id(inv.args[0]);
  if (!id) return kExitUsage;
  auto access = open_store(inv);
  if (!access) return kExitFailure;
  auto entry = find_queue_entry(access->store->read(), *id);
  if (!entry) return fmt::print(stderr, "mailstead: no queue entry {}\n", *id), kExitFailure;
  if (inv.has("--json")) return fmt::print("{}\n", entry_json(*entry)), kExitOk;
  print_entry(*entry);
  if (!entry->envid.empty()) fmt::print("         envid={}\n", entry->envid);
  return kExitOk;
}

// Sets the next attempt of every pending recipient of the chosen entries.
int reschedule(const Invocation& inv, std::int64_t when, std::string_view done) {
  bool all = inv.has("--all");
  if (all == !inv.args.empty()) {
    fmt::print(stderr, "mailstead: give a queue id or --all\n");
    return kExitUsage;
  }
  std::optional<QueueId> id;
  if (!all && !(id = queue_id(inv.args[0]))) return kExitUsage;
  auto access = open_store(inv);
  if (!access) return kExitFailure;
  std::size_t changed = 0;
  auto updated = access->store->update([&](WriteTxn& t) -> Result<void> {
    std::vector<QueueEntry> entries;
    if (all) {
      entries = list_queue(t);
    } else if (auto e = find_queue_entry(t, *id)) {
      entries.push_back(std::move(*e));
    } else {
      return fail(Errc::not_found, fmt::format("no queue entry {}", *id));
    }
    changed = 0;
    for (auto& e : entries) {
      for (auto& r : e.recipients)
        if (r.state == RecipientState::pending) r.next_attempt = when;
      if (auto ok = update_queue_entry(t, e); !ok) return ok.error();
      ++changed;
    }
    return {};
  });
  if (!updated) return report(updated.error());
  fmt::print("{} {} queue entr{}\n", done, changed, changed == 1 ? "y" : "ies");
  return kExitOk;
}

int queue_retry(const Invocation& inv) {
  return reschedule(inv, 0, "retrying");
}
int queue_hold(const Invocation& inv) {
  return reschedule(inv, kHeld, "held");
}
int queue_release(const Invocation& inv) {
  return reschedule(inv, 0, "released");
}

int queue_delete(const Invocation& inv) {
  auto id = queue_id(inv.args[0]);
  if (!id) return kExitUsage;
  auto access = open_store(inv);
  if (!access) return kExitFailure;
  auto removed = access->store->update([&](WriteTxn& t) { return remove_queue_entry(t, *id); });
  if (!removed) return report(removed.error());
  fmt::print("deleted queue entry {} (no bounce is sent)\n", *id);
  return kExitOk;
}

const OptionSpec kAll{"--all", false, "every entry in the queue"};

const std::vector<Command> kCommands = {
    {{"queue", "list"},
     "",
     "list the mail waiting to go out",
     "Prints each queued message with the state of each recipient (pending, held, delivered,\n"
     "failed), its attempts, the next attempt and the last error.",
     0,
     0,
     {kJson},
     queue_list},
    {{"queue", "show"},
     "ID",
     "show one queued message",
     "Prints one entry as `queue list` does.",
     1,
     1,
     {kJson},
     queue_show},
    {{"queue", "retry"},
     "ID|--all",
     "try a queued message again now",
     "Makes the pending recipients due at once (held ones too); mailstead-smtpd tries them at\n"
     "its next queue scan, within 5 seconds.",
     0,
     1,
     {kAll},
     queue_retry},
    {{"queue", "hold"},
     "ID|--all",
     "stop trying a queued message",
     "No attempt is made until `queue release`. A held message still expires at outbound.max_age\n"
     "only once released.",
     0,
     1,
     {kAll},
     queue_hold},
    {{"queue", "release"},
     "ID|--all",
     "let a held message go again",
     "The pending recipients are due at once.",
     0,
     1,
     {kAll},
     queue_release},
    {{"queue", "delete"},
     "ID",
     "delete a queued message without bouncing it",
     "Removes the entry and its pending recipients; the sender is not told.",
     1,
     1,
     {},
     queue_delete},
};

}  // namespace

std::span<const Command> queue_commands() {
  return kCommands;
}

}  // namespace mailstead::admin
