#include "storage/messages.hpp"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <algorithm>
#include <chrono>

#include "common/mime/preview.hpp"
#include "common/text/line_ends.hpp"
#include "storage/address.hpp"
#include "storage/changes.hpp"
#include "storage/detail/blobs.hpp"
#include "storage/detail/codec.hpp"
#include "storage/detail/lmdb.hpp"
#include "storage/detail/structure_codec.hpp"
#include "storage/detail/threads.hpp"

namespace mailstead::storage {
namespace {

// 2: the save date at the end; 3: then the thread id. A reader of an older format stops before
// what it does not know, so every format reads every record.
constexpr std::uint8_t kMessageFormat = 3;
constexpr std::uint8_t kBlobRefFormat = 1;
constexpr std::uint8_t kUsageFormat = 1;

std::uint64_t zigzag(std::int64_t v) {
  return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
}
std::int64_t unzigzag(std::uint64_t v) {
  return static_cast<std::int64_t>(v >> 1) ^ -static_cast<std::int64_t>(v & 1);
}

std::string_view blob_key(const BlobId& id) {
  return {reinterpret_cast<const char*>(id.bytes.data()), id.bytes.size()};
}

std::string encode(const Message& m) {
  codec::Writer w(kMessageFormat);
  w.u64(m.flags).u64(m.keywords.size());
  for (const auto& k : m.keywords) w.str(k);
  w.u64(zigzag(m.internal_date)).u64(m.size).u64(m.modseq).str(blob_key(m.blob)).u64(zigzag(m.saved)).u64(m.thread);
  return w.take();
}

Message decode(MailboxId mailbox, Uid uid, std::string_view bytes) {
  codec::Reader r(bytes, "message");
  Message m;
  m.mailbox = mailbox;
  m.uid = uid;
  m.flags = r.u32();
  auto n = r.u64();
  for (std::uint64_t i = 0; i < n; ++i) m.keywords.push_back(r.str());
  m.internal_date = unzigzag(r.u64());
  m.size = r.u64();
  m.modseq = r.u64();
  auto blob = r.str();
  if (blob.size() != m.blob.bytes.size()) throw StorageError(Errc::corrupt, "corrupt message record");
  std::copy(blob.begin(), blob.end(), m.blob.bytes.begin());
  if (r.format() >= 2) m.saved = unzigzag(r.u64());
  if (r.format() >= 3) m.thread = r.u64();
  return m;
}

}  // namespace

namespace detail {

BlobId hash_blob(std::string_view bytes) {
  BlobId id;
  unsigned int length = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), id.bytes.data(), &length, EVP_sha256(), nullptr) != 1 || length != 32)
    throw StorageError(Errc::io_error, "SHA-256 failed");
  return id;
}

void reference_blob(TxnState& t, const BlobId& id, std::string_view bytes) {
  std::uint64_t refs = 0;
  if (auto existing = t.get(t.dbs().blob_refs, blob_key(id))) {
    codec::Reader r(*existing, "blob reference");
    refs = r.u64();
  } else {
    t.put(t.dbs().blob_data, blob_key(id), bytes);
  }
  t.put(t.dbs().blob_refs, blob_key(id), codec::Writer(kBlobRefFormat).u64(refs + 1).u64(bytes.size()).take());
}

void release_blob(TxnState& t, const BlobId& id) {
  auto existing = t.get(t.dbs().blob_refs, blob_key(id));
  if (!existing) throw StorageError(Errc::corrupt, fmt::format("message refers to a missing blob {}", id.hex()));
  codec::Reader r(*existing, "blob reference");
  auto refs = r.u64();
  auto size = r.u64();
  if (refs <= 1) {
    t.erase(t.dbs().blob_refs, blob_key(id));
    t.erase(t.dbs().blob_data, blob_key(id));
  } else {
    t.put(t.dbs().blob_refs, blob_key(id), codec::Writer(kBlobRefFormat).u64(refs - 1).u64(size).take());
  }
}

void move_structures_to_messages(TxnState& t, MDB_dbi blob_meta) {
  std::vector<std::pair<std::string, BlobId>> messages;  // keys first: no writes during the scan
  t.scan(t.dbs().messages, "", [&](std::string_view key, std::string_view value) {
    messages.emplace_back(std::string(key), decode(0, 0, value).blob);
    return true;
  });
  for (const auto& [key, blob] : messages) {
    auto structure = t.get(blob_meta, blob_key(blob));
    if (!structure)
      throw StorageError(Errc::corrupt, fmt::format("message refers to a blob without structure {}", blob.hex()));
    std::string copy(*structure);  // the put may move the page the view points into
    t.put(t.dbs().message_meta, key, copy);
  }
}

}  // namespace detail

namespace {

using detail::reference_blob;
using detail::release_blob;

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void save_usage(detail::TxnState& t, UserId user, const Usage& u) {
  t.put(t.dbs().usage, codec::key_u32(user), codec::Writer(kUsageFormat).u64(u.bytes).u64(u.messages).take());
}

Result<void> check_quota(const ReadTxn& txn, UserId owner, std::uint64_t bytes, std::uint64_t messages) {
  auto user = user_by_id(txn, owner);
  if (!user) return user.error();
  auto used = usage_of(txn, owner);
  if (user->quota.bytes != 0 && used.bytes + bytes > user->quota.bytes)
    return fail(Errc::over_quota, fmt::format("{} is over its storage quota", user->address));
  if (user->quota.messages != 0 && used.messages + messages > user->quota.messages)
    return fail(Errc::over_quota, fmt::format("{} is over its message quota", user->address));
  return {};
}

void add_usage(WriteTxn& txn, UserId owner, std::int64_t bytes, std::int64_t messages) {
  auto u = usage_of(txn, owner);
  u.bytes = static_cast<std::uint64_t>(static_cast<std::int64_t>(u.bytes) + bytes);
  u.messages = static_cast<std::uint64_t>(static_cast<std::int64_t>(u.messages) + messages);
  save_usage(txn.state(), owner, u);
}

void put_message(WriteTxn& txn, const Message& m) {
  txn.state().put(txn.state().dbs().messages, codec::key_u32_u32(m.mailbox, m.uid), encode(m));
}

// The structure record (structure_codec.hpp), computed once per stored message. It is kept
// per message rather than per blob so that a mailbox's records lie together in UID order: a
// SEARCH or FETCH over a big mailbox then walks neighbouring pages instead of jumping through
// a B-tree keyed by content hash.
std::optional<std::string_view> structure_record(const ReadTxn& txn, MailboxId mailbox, Uid uid) {
  return txn.state().get(txn.state().dbs().message_meta, codec::key_u32_u32(mailbox, uid));
}

// Adds a message whose blob is already referenced; updates the mailbox, usage and change log.
Message insert_message(WriteTxn& txn, Mailbox& mailbox, const BlobId& blob, std::string_view structure,
                       std::uint64_t size, std::uint32_t flags, std::vector<std::string> keywords,
                       std::int64_t internal_date, std::uint64_t thread) {
  Message m;
  m.thread = thread;
  m.mailbox = mailbox.id;
  m.uid = mailbox.uid_next++;
  m.flags = flags & kAllFlags;
  m.keywords = std::move(keywords);
  m.internal_date = internal_date;
  m.size = size;
  m.blob = blob;
  m.saved = now_seconds();
  m.modseq = detail::record_change(txn, mailbox.user, mailbox.id, m.uid, ChangeKind::appended);
  put_message(txn, m);
  txn.state().put(txn.state().dbs().message_meta, codec::key_u32_u32(m.mailbox, m.uid), structure);
  mailbox.highest_modseq = m.modseq;
  mailbox.messages += 1;
  mailbox.bytes += size;
  add_usage(txn, mailbox.user, static_cast<std::int64_t>(size), 1);
  return m;
}

Result<void> check_target(const Mailbox& mailbox, std::size_t count) {
  if (mailbox.noselect) return fail(Errc::invalid_argument, fmt::format("\"{}\" cannot hold messages", mailbox.name));
  if (std::uint64_t{mailbox.uid_next} + count > 0xffffffffULL)
    return fail(Errc::limit, fmt::format("\"{}\" has used up its UIDs", mailbox.name));
  return {};
}

std::vector<std::string> canonical_keywords(std::vector<std::string> keywords) {
  std::vector<std::string> out;
  for (auto& k : keywords) {
    auto lower = lower_ascii(k);
    if (std::none_of(out.begin(), out.end(), [&](const std::string& x) { return lower_ascii(x) == lower; }))
      out.push_back(std::move(k));
  }
  std::sort(out.begin(), out.end(),
            [](const std::string& a, const std::string& b) { return lower_ascii(a) < lower_ascii(b); });
  return out;
}

}  // namespace

std::string BlobId::hex() const {
  std::string out;
  for (auto b : bytes) out += fmt::format("{:02x}", b);
  return out;
}

bool valid_keyword(std::string_view keyword) {
  if (keyword.empty() || keyword.size() > 256 || keyword.front() == '\\') return false;
  for (char c : keyword) {
    auto u = static_cast<unsigned char>(c);
    // atom-specials (RFC 9051 §9): ( ) { SP CTL % * " \ ] and 8-bit
    if (u <= 0x20 || u >= 0x7f || std::string_view("(){%*\"\\]").find(c) != std::string_view::npos) return false;
  }
  return true;
}

Usage usage_of(const ReadTxn& txn, UserId user) {
  auto bytes = txn.state().get(txn.state().dbs().usage, codec::key_u32(user));
  if (!bytes) return {};
  codec::Reader r(*bytes, "usage");
  Usage u;
  u.bytes = r.u64();
  u.messages = r.u64();
  return u;
}

void PreparedMessage::finish(const mime::Limits& limits) {
  blob_ = detail::hash_blob(bytes());
  auto structure = mime::parse_message(bytes(), limits, &stats_);
  structure_ = codec::encode_structure(structure, mime::make_preview(bytes(), structure, limits));
  auto keys = detail::thread_keys(structure);
  thread_own_ = std::move(keys.own);
  thread_parents_ = std::move(keys.parents);
}

PreparedMessage prepare_message(std::string bytes, const mime::Limits& limits) {
  PreparedMessage m;
  m.owned_ = text::has_only_crlf(bytes) ? std::move(bytes) : text::to_crlf(bytes);
  m.finish(limits);
  return m;
}

PreparedMessage prepare_borrowed(std::string_view bytes, const mime::Limits& limits) {
  PreparedMessage m;
  if (text::has_only_crlf(bytes))
    m.borrowed_ = bytes;
  else
    m.owned_ = text::to_crlf(bytes);
  m.finish(limits);
  return m;
}

Result<Message> append_message(WriteTxn& txn, const Mailbox& target, const PreparedMessage& message,
                               const AppendOptions& options) {
  if (message.bytes().empty()) return fail(Errc::invalid_argument, "an empty message cannot be stored");
  for (const auto& k : options.keywords)
    if (!valid_keyword(k)) return fail(Errc::invalid_argument, fmt::format("\"{}\" is not a valid keyword", k));
  auto mailbox = mailbox_by_id(txn, target.id);  // the current record, not the caller's copy
  if (!mailbox) return mailbox.error();
  if (auto ok = check_target(*mailbox, 1); !ok) return ok.error();
  if (auto ok = check_quota(txn, mailbox->user, message.size(), 1); !ok) return ok.error();
  reference_blob(txn.state(), message.blob_, message.bytes());
  auto thread = detail::assign_thread(txn.state(), mailbox->user, {message.thread_own_, message.thread_parents_});
  auto stored = insert_message(txn, *mailbox, message.blob_, message.structure_, message.size(), options.flags,
                               canonical_keywords(options.keywords),
                               options.internal_date ? options.internal_date : now_seconds(), thread);
  save_mailbox(txn, *mailbox);
  return stored;
}

std::vector<DeliveryOutcome> deliver_message(WriteTxn& txn, const PreparedMessage& message,
                                             const std::vector<UserId>& users, std::int64_t internal_date,
                                             SpecialUse into) {
  std::vector<DeliveryOutcome> outcomes;
  if (message.bytes().empty()) {
    for (auto u : users) outcomes.push_back({u, fail(Errc::invalid_argument, "an empty message cannot be stored")});
    return outcomes;
  }
  auto date = internal_date ? internal_date : now_seconds();
  for (auto user : users) {
    auto inbox = find_mailbox(txn, user, "INBOX");
    if (into != SpecialUse::none) {
      for (auto& m : list_mailboxes(txn, user)) {
        if (m.special_use == into && !m.noselect) {
          inbox = std::move(m);
          break;
        }
      }
    }
    if (!inbox) {
      outcomes.push_back({user, inbox.error()});
      continue;
    }
    if (auto ok = check_target(*inbox, 1); !ok) {
      outcomes.push_back({user, ok.error()});
      continue;
    }
    if (auto ok = check_quota(txn, user, message.size(), 1); !ok) {
      outcomes.push_back({user, ok.error()});
      continue;
    }
    reference_blob(txn.state(), message.blob_, message.bytes());
    auto thread = detail::assign_thread(txn.state(), user, {message.thread_own_, message.thread_parents_});
    auto stored = insert_message(txn, *inbox, message.blob_, message.structure_, message.size(), 0, {}, date, thread);
    save_mailbox(txn, *inbox);
    outcomes.push_back({user, stored});
  }
  return outcomes;
}

std::optional<Message> find_message(const ReadTxn& txn, MailboxId mailbox, Uid uid) {
  auto bytes = txn.state().get(txn.state().dbs().messages, codec::key_u32_u32(mailbox, uid));
  if (!bytes) return std::nullopt;
  return decode(mailbox, uid, *bytes);
}

void for_each_message(const ReadTxn& txn, MailboxId mailbox, const std::function<bool(const Message&)>& fn) {
  txn.state().scan(txn.state().dbs().messages, codec::key_u32(mailbox),
                   [&](std::string_view key, std::string_view value) {
                     return fn(decode(mailbox, codec::get_u32be(key, 4), value));
                   });
}

void for_each_message_from(const ReadTxn& txn, MailboxId mailbox, Uid first,
                           const std::function<bool(const Message&)>& fn) {
  const auto prefix = codec::key_u32(mailbox);
  txn.state().scan_from(txn.state().dbs().messages, codec::key_u32_u32(mailbox, first),
                        [&](std::string_view key, std::string_view value) {
                          if (!key.starts_with(prefix)) return false;
                          return fn(decode(mailbox, codec::get_u32be(key, 4), value));
                        });
}

std::vector<Uid> list_uids(const ReadTxn& txn, MailboxId mailbox) {
  std::vector<Uid> out;
  txn.state().scan(txn.state().dbs().messages, codec::key_u32(mailbox), [&](std::string_view key, std::string_view) {
    out.push_back(codec::get_u32be(key, 4));
    return true;
  });
  return out;
}

std::uint64_t count_messages_from(const ReadTxn& txn, MailboxId mailbox, Uid first) {
  std::uint64_t count = 0;
  const auto prefix = codec::key_u32(mailbox);
  txn.state().scan_from(txn.state().dbs().messages, codec::key_u32_u32(mailbox, first),
                        [&](std::string_view key, std::string_view) {
                          if (!key.starts_with(prefix)) return false;
                          ++count;
                          return true;
                        });
  return count;
}

std::optional<std::string_view> read_blob(const ReadTxn& txn, const BlobId& blob) {
  return txn.state().get(txn.state().dbs().blob_data, blob_key(blob));
}

std::optional<mime::Part> message_structure(const ReadTxn& txn, const Message& message) {
  auto bytes = structure_record(txn, message.mailbox, message.uid);
  if (!bytes) return std::nullopt;
  return codec::decode_structure(*bytes);
}

std::optional<std::string> stored_preview(const ReadTxn& txn, const Message& message) {
  auto bytes = structure_record(txn, message.mailbox, message.uid);
  if (!bytes) return std::nullopt;
  return codec::decode_preview(*bytes);
}

std::optional<mime::Envelope> message_envelope(const ReadTxn& txn, const Message& message) {
  auto bytes = structure_record(txn, message.mailbox, message.uid);
  if (!bytes) return std::nullopt;
  return codec::decode_envelope(*bytes);
}

bool for_each_header_field(const ReadTxn& txn, const Message& message,
                           const std::function<bool(std::string_view name, std::string_view value)>& fn) {
  auto bytes = structure_record(txn, message.mailbox, message.uid);
  if (!bytes) return false;
  codec::visit_header_fields(*bytes, fn);
  return true;
}

std::uint32_t blob_refcount(const ReadTxn& txn, const BlobId& blob) {
  auto bytes = txn.state().get(txn.state().dbs().blob_refs, blob_key(blob));
  if (!bytes) return 0;
  codec::Reader r(*bytes, "blob reference");
  return r.u32();
}

Result<FlagChange> store_flags(WriteTxn& txn, MailboxId mailbox_id, Uid uid, FlagOperation op, std::uint32_t flags,
                               const std::vector<std::string>& keywords, std::optional<std::uint64_t> unchanged_since) {
  for (const auto& k : keywords)
    if (!valid_keyword(k)) return fail(Errc::invalid_argument, fmt::format("\"{}\" is not a valid keyword", k));
  auto found = find_message(txn, mailbox_id, uid);
  if (!found) return fail(Errc::not_found, fmt::format("no message with UID {}", uid));
  FlagChange change{*found, false, false};
  Message& m = change.message;
  auto new_flags = m.flags;
  auto new_keywords = m.keywords;
  auto same = [](const std::string& a, const std::string& b) { return lower_ascii(a) == lower_ascii(b); };
  switch (op) {
    case FlagOperation::replace:
      new_flags = flags & kAllFlags;
      new_keywords = keywords;
      break;
    case FlagOperation::add:
      new_flags |= flags & kAllFlags;
      new_keywords.insert(new_keywords.end(), keywords.begin(), keywords.end());
      break;
    case FlagOperation::remove:
      new_flags &= ~flags;
      std::erase_if(new_keywords, [&](const std::string& k) {
        return std::any_of(keywords.begin(), keywords.end(), [&](const std::string& x) { return same(k, x); });
      });
      break;
  }
  new_keywords = canonical_keywords(std::move(new_keywords));
  if (new_flags == m.flags && new_keywords.size() == m.keywords.size() &&
      std::equal(new_keywords.begin(), new_keywords.end(), m.keywords.begin(), same))
    return change;
  if (unchanged_since && m.modseq > *unchanged_since) {
    change.conflict = true;
    return change;
  }
  auto mailbox = mailbox_by_id(txn, mailbox_id);
  if (!mailbox) return mailbox.error();
  m.flags = new_flags;
  m.keywords = std::move(new_keywords);
  m.modseq = detail::record_change(txn, mailbox->user, mailbox_id, uid, ChangeKind::flags);
  put_message(txn, m);
  mailbox->highest_modseq = m.modseq;
  save_mailbox(txn, *mailbox);
  change.changed = true;
  return change;
}

Result<CopyResult> copy_messages(WriteTxn& txn, MailboxId source, const std::vector<Uid>& uids,
                                 const Mailbox& target_in) {
  auto target = mailbox_by_id(txn, target_in.id);
  if (!target) return target.error();
  std::vector<Message> originals;
  std::uint64_t bytes = 0;
  auto sorted = uids;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  for (auto uid : sorted) {
    if (auto m = find_message(txn, source, uid)) {
      bytes += m->size;
      originals.push_back(std::move(*m));
    }
  }
  if (auto ok = check_target(*target, originals.size()); !ok) return ok.error();
  if (auto ok = check_quota(txn, target->user, bytes, originals.size()); !ok) return ok.error();
  CopyResult result;
  result.target_uid_validity = target->uid_validity;
  for (const auto& original : originals) {
    auto blob = read_blob(txn, original.blob);
    if (!blob)
      throw StorageError(Errc::corrupt, fmt::format("message refers to a missing blob {}", original.blob.hex()));
    reference_blob(txn.state(), original.blob, *blob);
    auto structure = structure_record(txn, original.mailbox, original.uid);
    if (!structure)
      throw StorageError(Errc::corrupt, fmt::format("message {} of mailbox {} has no structure record", original.uid,
                                                    original.mailbox));
    std::string structure_copy(*structure);  // the writes below may move the page it points into
    auto copy = insert_message(txn, *target, original.blob, structure_copy, original.size, original.flags,
                               original.keywords, original.internal_date, original.thread);
    result.source_uids.push_back(original.uid);
    result.target_uids.push_back(copy.uid);
  }
  save_mailbox(txn, *target);
  return result;
}

Result<CopyResult> move_messages(WriteTxn& txn, MailboxId source, const std::vector<Uid>& uids, const Mailbox& target) {
  auto copied = copy_messages(txn, source, uids, target);
  if (!copied) return copied;
  expunge_messages(txn, source, copied->source_uids);
  return copied;
}

std::vector<Uid> expunge_messages(WriteTxn& txn, MailboxId mailbox_id, const std::vector<Uid>& uids) {
  std::vector<Uid> removed;
  auto mailbox = mailbox_by_id(txn, mailbox_id);
  if (!mailbox) return removed;
  auto sorted = uids;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  auto& t = txn.state();
  for (auto uid : sorted) {
    auto m = find_message(txn, mailbox_id, uid);
    if (!m) continue;
    t.erase(t.dbs().messages, codec::key_u32_u32(mailbox_id, uid));
    t.erase(t.dbs().message_meta, codec::key_u32_u32(mailbox_id, uid));
    release_blob(t, m->blob);
    mailbox->highest_modseq = detail::record_change(txn, mailbox->user, mailbox_id, uid, ChangeKind::expunged);
    mailbox->messages -= 1;
    mailbox->bytes -= m->size;
    add_usage(txn, mailbox->user, -static_cast<std::int64_t>(m->size), -1);
    removed.push_back(uid);
  }
  if (!removed.empty()) save_mailbox(txn, *mailbox);
  return removed;
}

std::vector<Uid> expunge_deleted(WriteTxn& txn, MailboxId mailbox) {
  std::vector<Uid> doomed;
  for_each_message(txn, mailbox, [&](const Message& m) {
    if (m.flags & kDeleted) doomed.push_back(m.uid);
    return true;
  });
  return expunge_messages(txn, mailbox, doomed);
}

}  // namespace mailstead::storage
