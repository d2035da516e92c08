// Annotations on mailboxes and on the server (RFC 5464 METADATA): GETMETADATA and SETMETADATA.
// Entry names were checked by the parser; what a user may hold is bounded by
// imapd.max_metadata_entries and imapd.max_metadata_size.

#include <fmt/format.h>

#include <algorithm>

#include "common/text/ascii.hpp"
#include "imapd/proto/response.hpp"
#include "imapd/session_impl.hpp"
#include "storage/metadata.hpp"

namespace mailstead::imap {
namespace {

// RFC 5464 §4.2.2: the entry itself, and with DEPTH 1 its children, with infinity everything below.
bool within_depth(std::string_view name, std::string_view wanted, GetMetadata::Depth depth) {
  auto lower = text::lower_ascii(name);
  auto asked = text::lower_ascii(wanted);
  if (lower == asked) return true;
  if (depth == GetMetadata::Depth::zero || !lower.starts_with(asked + '/')) return false;
  return depth == GetMetadata::Depth::infinity || lower.find('/', asked.size() + 1) == std::string::npos;
}

}  // namespace

// The mailbox a METADATA command names: the server's entries for "", else one of the user's
// mailboxes (RFC 5464 §3.3: one the user can list and read, NO otherwise).
std::optional<storage::MailboxId> Session::metadata_target(const storage::ReadTxn& txn, const std::string& wire) {
  if (wire.empty()) return storage::kServerMetadata;
  auto name = mailbox_name(wire);
  if (!name) return std::nullopt;
  auto mailbox = storage::find_mailbox(txn, account().id, *name);
  if (!mailbox) return std::nullopt;
  return mailbox->id;
}

// RFC 5464 §4.2: the entries that exist among those named (and below them, to DEPTH), in one
// METADATA response; values over MAXSIZE are left out and the largest of them reported.
bool Session::on_getmetadata(const Command& command, const GetMetadata& request) {
  auto txn = ctx_.services.store.read();
  auto target = metadata_target(txn, request.mailbox);
  if (!target) return no_such_mailbox(command);
  auto entries = storage::metadata_of(txn, account().id, *target);
  std::vector<bool> sent(entries.size(), false);
  std::string items;
  std::uint64_t longest = 0;
  for (const auto& wanted : request.entries) {
    for (std::size_t i = 0; i < entries.size(); ++i) {
      if (sent[i] || !within_depth(entries[i].name, wanted, request.depth)) continue;
      const auto& value = entries[i].value;
      if (request.max_size && value.size() > *request.max_size) {
        longest = std::max<std::uint64_t>(longest, value.size());  // §4.2.1
        continue;
      }
      sent[i] = true;
      if (!items.empty()) items += ' ';
      append_astring(items, entries[i].name);
      items += ' ';
      if (value.find('\0') != std::string::npos)
        append_literal(items, value, true);
      else
        append_string(items, value, enabled_.utf8);
    }
  }
  if (!items.empty()) {
    auto& out = talk_.out();
    out += "* METADATA ";
    append_astring(out, request.mailbox, enabled_.utf8);
    out += " (";
    out += items;
    out += ")\r\n";
  }
  auto code = longest > 0 ? fmt::format("[METADATA LONGENTRIES {}] ", longest) : std::string();
  tagged(command, "OK", code + "GETMETADATA completed");
  return true;
}

// RFC 5464 §4.3: every entry set or none. A value over imapd.max_metadata_size is refused with
// [METADATA MAXSIZE n], an entry past imapd.max_metadata_entries with [METADATA TOOMANY];
// shared server entries belong to the administrator (§3.3: a server MAY restrict them).
net::awaitable<bool> Session::on_setmetadata(const Command& command, const SetMetadata& request) {
  std::vector<storage::MetadataChange> changes;
  for (const auto& [name, value] : request.entries) {
    if (value && value->size() > cfg_.imapd.max_metadata_size) {
      tagged(command, "NO",
             fmt::format("[METADATA MAXSIZE {}] The value of {} is too long", cfg_.imapd.max_metadata_size, name));
      co_return true;
    }
    if (request.mailbox.empty() && !storage::is_private_entry(name)) {
      tagged(command, "NO", "[NOPERM] Shared server entries are set by the administrator");
      co_return true;
    }
    changes.push_back({name, value});
  }
  std::optional<storage::MailboxId> target;
  {
    auto txn = ctx_.services.store.read();
    target = metadata_target(txn, request.mailbox);
  }
  if (!target) co_return no_such_mailbox(command);
  const auto user = account().id;
  const storage::MetadataLimits limits{cfg_.imapd.max_metadata_entries};
  std::optional<storage::Failure> failure;
  auto ok = co_await commit("SETMETADATA", [&](storage::WriteTxn& txn) {
    // The mailbox may have gone since it was looked up: checked again where the change is made.
    if (*target != storage::kServerMetadata && !storage::mailbox_by_id(txn, *target)) {
      failure = storage::Failure{storage::Errc::not_found, "No such mailbox"};
      return;
    }
    auto child = txn.nested();
    auto result = storage::set_metadata(child, user, user, *target, changes, limits);
    if (result)
      child.commit();
    else
      failure = result.error();
  });
  if (!ok)
    tagged(command, "NO", not_written(ok, "The annotations could not be stored"));
  else if (failure && failure->code == storage::Errc::limit)
    tagged(command, "NO", "[METADATA TOOMANY] " + failure->detail);
  else if (failure)
    tagged(command, "NO", fmt::format("{}{}", response_code(failure->code), failure->detail));
  else
    tagged(command, "OK", "SETMETADATA completed");
  co_return true;
}

}  // namespace mailstead::imap
