// mailstead message list|cat: look at stored mail, for operators and for tests.

#include <fmt/format.h>
#include <unistd.h>

#include <charconv>
#include <ctime>

#include "admin/command.hpp"
#include "admin/store_access.hpp"
#include "storage/accounts.hpp"
#include "storage/mailboxes.hpp"
#include "storage/messages.hpp"

namespace mailstead::admin {
namespace {

using namespace storage;

std::string flag_names(std::uint32_t flags, const std::vector<std::string>& keywords) {
  std::vector<std::string> names;
  for (auto [bit, name] : {std::pair{kSeen, "\\Seen"},
                           {kAnswered, "\\Answered"},
                           {kFlagged, "\\Flagged"},
                           {kDeleted, "\\Deleted"},
                           {kDraft, "\\Draft"}})
    if (flags & bit) names.emplace_back(name);
  names.insert(names.end(), keywords.begin(), keywords.end());
  return fmt::format("{}", fmt::join(names, " "));
}

// The mailbox named by the arguments ADDRESS MAILBOX.
Result<Mailbox> named_mailbox(const ReadTxn& txn, const Invocation& inv) {
  auto user = find_user(txn, inv.args[0]);
  if (!user) return user.error();
  return find_mailbox(txn, user->id, inv.args[1]);
}

int message_list(const Invocation& inv) {
  auto access = open_store(inv);
  if (!access) return kExitFailure;
  auto txn = access->store->read();
  auto mailbox = named_mailbox(txn, inv);
  if (!mailbox) return report(mailbox.error());
  bool json = inv.has("--json");
  std::string out = json ? "[" : "";
  for_each_message(txn, mailbox->id, [&](const Message& m) {
    auto structure = message_structure(txn, m);
    std::string subject = structure && structure->envelope ? structure->envelope->subject.value_or("") : "";
    if (json) {
      out += fmt::format(R"({}{{"uid":{},"size":{},"internal_date":{},"modseq":{},"flags":{},"subject":{}}})",
                         out.size() > 1 ? "," : "", m.uid, m.size, m.internal_date, m.modseq,
                         json_string(flag_names(m.flags, m.keywords)), json_string(subject));
    } else {
      out += fmt::format("{:<8} {:>9} {:<20} {}\n", m.uid, m.size, flag_names(m.flags, m.keywords), subject);
    }
    return true;
  });
  fmt::print("{}{}", out, json ? "]\n" : "");
  return kExitOk;
}

int message_cat(const Invocation& inv) {
  auto uid = parse_number<std::uint32_t>(inv.args[2]);
  if (!uid) return fmt::print(stderr, "mailstead: \"{}\" is not a UID\n", inv.args[2]), kExitUsage;
  auto access = open_store(inv);
  if (!access) return kExitFailure;
  auto txn = access->store->read();
  auto mailbox = named_mailbox(txn, inv);
  if (!mailbox) return report(mailbox.error());
  auto message = find_message(txn, mailbox->id, *uid);
  if (!message)
    return fmt::print(stderr, "mailstead: no message with UID {} in {}\n", *uid, mailbox->name), kExitFailure;
  auto bytes = read_blob(txn, message->blob);
  if (!bytes) return fmt::print(stderr, "mailstead: the message's bytes are missing\n"), kExitFailure;
  for (std::string_view rest = *bytes; !rest.empty();) {  // raw bytes, exactly as stored
    auto n = ::write(STDOUT_FILENO, rest.data(), rest.size());
    if (n <= 0) return kExitFailure;
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
  return kExitOk;
}

const std::vector<Command> kCommands = {
    {{"message", "list"},
     "ADDRESS MAILBOX",
     "list the messages of a mailbox",
     "Prints UID, size, flags and subject of each message.",
     2,
     2,
     {{"--json", false, "print JSON"}},
     message_list},
    {{"message", "cat"},
     "ADDRESS MAILBOX UID",
     "print a message exactly as stored",
     "Writes the message's bytes, trace fields included, to standard output.",
     3,
     3,
     {},
     message_cat},
};

}  // namespace

std::span<const Command> message_commands() {
  return kCommands;
}

}  // namespace mailstead::admin
