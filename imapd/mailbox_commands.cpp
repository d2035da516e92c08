// Commands on mailboxes: LIST/LSUB, STATUS, GETQUOTA/GETQUOTAROOT, CREATE, DELETE, RENAME,
// SUBSCRIBE/UNSUBSCRIBE, APPEND.

#include <fmt/format.h>

#include <algorithm>

#include "common/text/ascii.hpp"
#include "common/text/mutf7.hpp"
#include "common/text/utf8.hpp"
#include "imapd/proto/list_match.hpp"
#include "imapd/proto/response.hpp"
#include "imapd/session_impl.hpp"
#include "storage/changes.hpp"

namespace mailstead::imap {
namespace {

storage::SpecialUse special_use_of(std::string_view attribute) {
  using storage::SpecialUse;
  for (auto use : {SpecialUse::sent, SpecialUse::drafts, SpecialUse::trash, SpecialUse::junk, SpecialUse::archive})
    if (text::iequals_ascii(storage::to_imap_attribute(use), attribute)) return use;
  return SpecialUse::none;
}

}  // namespace

std::string_view response_code(storage::Errc code) {
  switch (code) {
    case storage::Errc::not_found:
      return "[NONEXISTENT] ";
    case storage::Errc::already_exists:
      return "[ALREADYEXISTS] ";
    case storage::Errc::over_quota:
      return "[OVERQUOTA] ";
    case storage::Errc::invalid_argument:
      return "[CANNOT] ";
    case storage::Errc::limit:
      return "[LIMIT] ";
    case storage::Errc::no_space:  // RFC 5530 §3: a subsystem is down for a while; retry later
      return "[UNAVAILABLE] ";
    default:
      return "[SERVERBUG] ";
  }
}

std::optional<std::string> Session::mailbox_name(const std::string& wire) const {
  if (enabled_.utf8) return text::valid_utf8(wire) ? std::optional(wire) : std::nullopt;
  // Without UTF8=ACCEPT, 8-bit names are not allowed and "&" starts modified UTF-7.
  return text::decode_mutf7(wire);
}

bool Session::no_such_mailbox(const Command& command) {
  tagged(command, "NO", "[NONEXISTENT] No such mailbox");
  return true;
}

bool Session::cannot_name(const Command& command) {
  tagged(command, "NO",
         enabled_.utf8 ? "[CANNOT] The mailbox name is not valid UTF-8"
                       : "[CANNOT] The mailbox name is not valid modified UTF-7 (RFC 3501 §5.1.3); write & as &-");
  return true;
}

std::string Session::wire_name(std::string_view name) const {
  return enabled_.utf8 ? std::string(name) : text::encode_mutf7(name);
}

// RFC 3501 §6.3.9: LIST over the subscriptions.
bool Session::on_lsub(const Command& command, const Lsub& lsub) {
  return on_list(command, lsub);
}

// RFC 9051 §6.3.9, with RFC 5258 LIST-EXTENDED, RFC 5819 LIST-STATUS and RFC 6154 SPECIAL-USE.
bool Session::on_list(const Command& command, const List& list) {
  const char separator = ctx_.services.store.options().hierarchy_separator;
  if (!list.lsub && list.patterns.size() == 1 && list.patterns[0].empty()) {
    // The hierarchy separator and root (RFC 9051 §6.3.9).
    fmt::format_to(std::back_inserter(talk_.out()), "* LIST (\\Noselect) \"{}\" \"\"\r\n", separator);
    tagged(command, "OK", "LIST completed");
    return true;
  }
  // A reference or pattern that is no valid name matches no mailbox (see mailbox_name()).
  auto reference = mailbox_name(list.reference);
  std::vector<std::string> patterns;
  for (const auto& p : list.patterns) {
    auto decoded = mailbox_name(p);
    if (decoded && reference) patterns.push_back(list_pattern(*reference, *decoded, separator));
  }
  auto txn = ctx_.services.store.read();
  auto mailboxes = storage::list_mailboxes(txn, account().id);
  auto subscriptions = storage::subscribed(txn, account().id);
  std::vector<std::string> mailbox_names;
  mailbox_names.reserve(mailboxes.size());
  for (const auto& m : mailboxes) mailbox_names.push_back(m.name);
  const ListSelection selection{.subscribed_only = list.lsub || list.select_subscribed,
                                .recursive_match = list.recursive_match,
                                .lsub = list.lsub};
  for (const auto& listed : select_names(mailbox_names, subscriptions, patterns, selection, separator)) {
    const storage::Mailbox* mailbox = listed.mailbox ? &mailboxes[*listed.mailbox] : nullptr;
    if (list.select_special_use && (!mailbox || mailbox->special_use == storage::SpecialUse::none)) continue;
    std::vector<std::string_view> attributes;
    if (list.lsub) {
      // RFC 3501 §6.3.9: a parent listed for its subscribed child, or a subscription whose
      // mailbox is gone, cannot be selected.
      if (!mailbox || mailbox->noselect || !listed.subscribed) attributes.push_back("\\Noselect");
    } else {
      // RFC 5258 §3.4: \NonExistent implies \Noselect.
      if (!mailbox)
        attributes.push_back("\\NonExistent");
      else if (mailbox->noselect)
        attributes.push_back("\\Noselect");
      attributes.push_back(listed.has_children ? "\\HasChildren" : "\\HasNoChildren");
      if ((list.select_subscribed || list.return_subscribed) && listed.subscribed) attributes.push_back("\\Subscribed");
      if (mailbox && mailbox->special_use != storage::SpecialUse::none)
        attributes.push_back(storage::to_imap_attribute(mailbox->special_use));
    }
    std::string line = list.lsub ? "* LSUB (" : "* LIST (";
    for (std::size_t a = 0; a < attributes.size(); ++a) {
      if (a) line += ' ';
      line += attributes[a];
    }
    fmt::format_to(std::back_inserter(line), ") \"{}\" ", separator);
    append_astring(line, wire_name(listed.name), enabled_.utf8);
    if (list.recursive_match && listed.subscribed_below) line += " (\"CHILDINFO\" (\"SUBSCRIBED\"))";
    talk_.out() += line;
    talk_.out() += "\r\n";
    if (!list.return_status.empty() && mailbox && !mailbox->noselect) append_status(txn, *mailbox, list.return_status);
  }
  tagged(command, "OK", list.lsub ? "LSUB completed" : "LIST completed");
  return true;
}

void Session::append_status(const storage::ReadTxn& txn, const storage::Mailbox& mailbox,
                            const std::vector<std::string>& items) {
  bool count_flags =
      std::any_of(items.begin(), items.end(), [](const std::string& i) { return i == "UNSEEN" || i == "DELETED"; });
  std::uint64_t unseen = 0, deleted = 0;
  if (count_flags) {
    storage::for_each_message(txn, mailbox.id, [&](const storage::Message& m) {
      if (!(m.flags & storage::kSeen)) ++unseen;
      if (m.flags & storage::kDeleted) ++deleted;
      return true;
    });
  }
  talk_.out() += "* STATUS ";
  append_astring(talk_.out(), wire_name(mailbox.name), enabled_.utf8);
  talk_.out() += " (";
  for (std::size_t i = 0; i < items.size(); ++i) {
    const auto& item = items[i];
    if (i) talk_.out() += ' ';
    std::uint64_t value = 0;
    if (item == "MESSAGES")
      value = mailbox.messages;
    else if (item == "UIDNEXT")
      value = mailbox.uid_next;
    else if (item == "UIDVALIDITY")
      value = mailbox.uid_validity;
    else if (item == "UNSEEN")
      value = unseen;
    else if (item == "DELETED")
      value = deleted;
    else if (item == "SIZE")
      value = mailbox.bytes;
    else if (item == "HIGHESTMODSEQ")
      value = mailbox.highest_modseq;
    if (item == "MAILBOXID") {  // RFC 8474 §4.3
      fmt::format_to(std::back_inserter(talk_.out()), "MAILBOXID ({})", mailbox_id_of(mailbox));
      continue;
    } else if (item == "RECENT")
      value = storage::count_messages_from(txn, mailbox.id, ctx_.recent.floor(mailbox.id, mailbox.recent_floor));
    fmt::format_to(std::back_inserter(talk_.out()), "{} {}", item, value);
  }
  talk_.out() += ")\r\n";
}

void Session::append_quota(const storage::ReadTxn& txn) {
  auto user = storage::user_by_id(txn, account().id);
  if (!user || (user->quota.bytes == 0 && user->quota.messages == 0)) return;
  auto used = storage::usage_of(txn, account().id);
  std::string resources;
  // STORAGE counts units of 1024 octets (RFC 9208 §5.1): usage rounded up, the limit down.
  if (user->quota.bytes != 0)
    fmt::format_to(std::back_inserter(resources), "STORAGE {} {}", (used.bytes + 1023) / 1024,
                   user->quota.bytes / 1024);
  if (user->quota.messages != 0)
    fmt::format_to(std::back_inserter(resources), "{}MESSAGE {} {}", resources.empty() ? "" : " ", used.messages,
                   user->quota.messages);
  fmt::format_to(std::back_inserter(talk_.out()), "* QUOTA \"\" ({})\r\n", resources);
}

// RFC 9208 §4.3.
bool Session::on_getquotaroot(const Command& command, const GetQuotaRoot& request) {
  auto name = mailbox_name(request.mailbox);
  if (!name) return no_such_mailbox(command);
  auto txn = ctx_.services.store.read();
  auto mailbox = storage::find_mailbox(txn, account().id, *name);
  if (!mailbox) {
    tagged(command, "NO", "[NONEXISTENT] No such mailbox");
    return true;
  }
  auto user = storage::user_by_id(txn, account().id);
  bool limited = user && (user->quota.bytes != 0 || user->quota.messages != 0);
  talk_.out() += "* QUOTAROOT ";
  append_astring(talk_.out(), wire_name(mailbox->name), enabled_.utf8);
  talk_.out() += limited ? " \"\"\r\n" : "\r\n";
  append_quota(txn);
  tagged(command, "OK", "GETQUOTAROOT completed");
  return true;
}

// RFC 9208 §4.2.
bool Session::on_getquota(const Command& command, const GetQuota& request) {
  auto txn = ctx_.services.store.read();
  auto before = talk_.out().size();
  if (request.root.empty()) append_quota(txn);
  if (talk_.out().size() == before) {
    tagged(command, "NO", "[NONEXISTENT] No such quota root");
    return true;
  }
  tagged(command, "OK", "GETQUOTA completed");
  return true;
}

// RFC 9051 §6.3.11 (SIZE: RFC 8438).
bool Session::on_status(const Command& command, const Status& status) {
  auto name = mailbox_name(status.mailbox);
  if (!name) return no_such_mailbox(command);
  if (selected()) sync_changes();
  auto txn = ctx_.services.store.read();
  auto mailbox = storage::find_mailbox(txn, account().id, *name);
  if (!mailbox || mailbox->noselect) {
    tagged(command, "NO", "[NONEXISTENT] No such mailbox");
    return true;
  }
  append_status(txn, *mailbox, status.items);
  tagged(command, "OK", "STATUS completed");
  return true;
}

// RFC 9208 §4.1: quotas are the administrator's.
bool Session::on_setquota(const Command& command, const SetQuota&) {
  tagged(command, "NO", "[NOPERM] Quotas are set by the administrator (mailstead user quota)");
  return true;
}

// RFC 2342: one personal namespace, no others.
bool Session::on_namespace(const Command& command, const Namespace&) {
  fmt::format_to(std::back_inserter(talk_.out()), "* NAMESPACE ((\"\" \"{}\")) NIL NIL\r\n",
                 ctx_.services.store.options().hierarchy_separator);
  tagged(command, "OK", "NAMESPACE completed");
  return true;
}

// RFC 9051 §6.3.4 (USE: RFC 6154 CREATE-SPECIAL-USE).
net::awaitable<bool> Session::on_create(const Command& command, const Create& create) {
  auto name = mailbox_name(create.mailbox);
  if (!name) co_return cannot_name(command);
  const char separator = ctx_.services.store.options().hierarchy_separator;
  // A trailing separator only says the client means to create children (RFC 9051 §6.3.4).
  if (name->size() > 1 && name->back() == separator) name->pop_back();
  auto use = storage::SpecialUse::none;
  if (create.special_use) {
    use = special_use_of(*create.special_use);
    if (use == storage::SpecialUse::none) {
      tagged(command, "NO", "[USEATTR] Unsupported special-use attribute");
      co_return true;
    }
  }
  auto user = account().id;
  std::string code;  // RFC 8474 §4.1: the tagged OK names the new mailbox's MAILBOXID
  MailboxChange change = [&](storage::WriteTxn& txn) -> storage::Result<void> {
    auto created = storage::create_mailbox(txn, user, *name, use, false);
    if (!created) return created.error();
    code = fmt::format("[MAILBOXID ({})] ", mailbox_id_of(*created));
    return {};
  };
  co_await change_mailboxes(command, std::move(change), &code);
  co_return true;
}

// RFC 9051 §6.3.5.
net::awaitable<bool> Session::on_delete(const Command& command, const Delete& del) {
  auto name = mailbox_name(del.mailbox);
  if (!name) co_return no_such_mailbox(command);
  // A name the store refuses (DELETE "") is not the selected one; the store answers it NO.
  auto normalized = storage::normalize_mailbox_name(*name, ctx_.services.store.options().hierarchy_separator);
  if (selected() && normalized && *normalized == selected()->mailbox.name) {
    // RFC 9051 §6.3.5 permits it; the session then has nothing selected.
    deselect();
  }
  auto user = account().id;
  MailboxChange change = [&](storage::WriteTxn& txn) { return storage::delete_mailbox(txn, user, *name); };
  co_await change_mailboxes(command, std::move(change));
  co_return true;
}

// RFC 9051 §6.3.6 (INBOX: its messages move, INBOX stays).
net::awaitable<bool> Session::on_rename(const Command& command, const Rename& rename) {
  auto from = mailbox_name(rename.from);
  auto to = mailbox_name(rename.to);
  if (!from) co_return no_such_mailbox(command);
  if (!to) co_return cannot_name(command);
  auto user = account().id;
  MailboxChange change = [&](storage::WriteTxn& txn) { return storage::rename_mailbox(txn, user, *from, *to); };
  co_await change_mailboxes(command, std::move(change));
  if (selected()) {  // the selected mailbox may have a new name (or, for INBOX, lost its messages)
    sync_changes();
    auto txn = ctx_.services.store.read();
    if (auto mailbox = storage::mailbox_by_id(txn, selected()->mailbox.id)) selected()->mailbox = *mailbox;
  }
  co_return true;
}

// RFC 9051 §6.3.7 (and UNSUBSCRIBE, §6.3.8).
net::awaitable<bool> Session::on_subscribe(const Command& command, const Subscribe& subscribe) {
  auto name = mailbox_name(subscribe.mailbox);
  if (!name) co_return cannot_name(command);
  auto user = account().id;
  MailboxChange change = [&](storage::WriteTxn& txn) {
    return storage::set_subscribed(txn, user, *name, subscribe.subscribe);
  };
  co_await change_mailboxes(command, std::move(change));
  co_return true;
}

// RFC 9051 §6.3.8.
net::awaitable<bool> Session::on_unsubscribe(const Command& command, const Unsubscribe& unsubscribe) {
  co_return co_await on_subscribe(command, unsubscribe);
}

// One change to the user's mailboxes, in a nested transaction so that a refusal leaves
// nothing behind; answered OK, or NO with the store's reason.
net::awaitable<void> Session::change_mailboxes(const Command& command, MailboxChange change,
                                               const std::string* ok_code) {
  std::optional<storage::Failure> failure;
  auto ok = co_await commit(command.name.c_str(), [&](storage::WriteTxn& txn) {
    auto child = txn.nested();
    auto result = change(child);
    if (result)
      child.commit();
    else
      failure = result.error();
  });
  if (!ok)
    tagged(command, "NO", not_written(ok, "The change could not be stored"));
  else if (failure)
    tagged(command, "NO", fmt::format("{}{}", response_code(failure->code), failure->detail));
  else
    tagged(command, "OK", fmt::format("{}{} completed", ok_code ? *ok_code : "", command.name));
}

// A message to store, parsed here rather than under the store's single writer
// (storage/messages.hpp); a structure past [limits] is logged, since its index is summarised.
storage::PreparedMessage Session::prepare(const AppendMessage& message) const {
  auto prepared = storage::prepare_borrowed(message.message, cfg_.limits.message);
  if (prepared.stats().summarised)
    log::info(talk_.id(), "structure_summarised", "parts={} structure_size={}", prepared.stats().parts,
              prepared.stats().structure_size);
  return prepared;
}

std::optional<std::string> Session::read_append_options(const AppendMessage& message, storage::AppendOptions& options) {
  for (const auto& flag : message.flags) {
    if (auto bit = system_flag(flag))
      options.flags |= stored_flags(bit);
    else if (storage::valid_keyword(flag))
      options.keywords.push_back(flag);
    else
      return fmt::format("Invalid flag {}", flag);
  }
  std::sort(options.keywords.begin(), options.keywords.end());
  options.keywords.erase(std::unique(options.keywords.begin(), options.keywords.end()), options.keywords.end());
  if (message.date) options.internal_date = *parse_date_time(*message.date);
  if (message.message.empty()) return "Empty message";
  return std::nullopt;
}

// RFC 9051 §6.3.12, RFC 3502 MULTIAPPEND, RFC 4315 APPENDUID.
net::awaitable<bool> Session::on_append(const Command& command, const Append& append) {
  auto name = mailbox_name(append.mailbox);
  if (!name) co_return cannot_name(command);
  std::vector<storage::AppendOptions> options(append.messages.size());
  for (std::size_t i = 0; i < append.messages.size(); ++i)
    if (auto error = read_append_options(append.messages[i], options[i])) co_return bad(command.tag, *error);
  // Parsed here, not under the store's single writer (storage/messages.hpp).
  std::vector<storage::PreparedMessage> prepared;
  for (const auto& message : append.messages) prepared.push_back(prepare(message));
  std::optional<storage::Failure> failure;
  std::vector<storage::Uid> stored;
  storage::Mailbox target;
  auto user = account().id;
  // MULTIAPPEND is all or nothing (RFC 3502 §6.3.11): one nested transaction for every message.
  auto ok = co_await commit("APPEND", [&](storage::WriteTxn& txn) {
    stored.clear();
    failure.reset();
    auto mailbox = storage::find_mailbox(txn, user, *name);
    if (!mailbox || mailbox->noselect) {
      failure = storage::fail(storage::Errc::not_found, "No such mailbox");
      return;
    }
    target = *mailbox;
    auto child = txn.nested();
    for (std::size_t i = 0; i < append.messages.size(); ++i) {
      auto result = storage::append_message(child, *mailbox, prepared[i], options[i]);
      if (!result) {
        failure = result.error();
        return;
      }
      stored.push_back(result->uid);
    }
    child.commit();
  });
  if (selected()) {
    sync_changes();
    report_updates(true);
  }
  if (!ok)
    tagged(command, "NO", not_written(ok, "Could not store the message"));
  else if (failure && failure->code == storage::Errc::not_found)
    tagged(command, "NO", "[TRYCREATE] No such mailbox");
  else if (failure)
    tagged(command, "NO", fmt::format("{}{}", response_code(failure->code), failure->detail));
  else
    tagged(command, "OK", fmt::format("[APPENDUID {} {}] APPEND completed", target.uid_validity, format_set(stored)));
  co_return true;
}

}  // namespace mailstead::imap
