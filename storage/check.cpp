#include "storage/check.hpp"

#include <fmt/format.h>

#include <map>
#include <set>

#include "storage/accounts.hpp"
#include "storage/changes.hpp"
#include "storage/detail/codec.hpp"
#include "storage/detail/lmdb.hpp"
#include "storage/mailboxes.hpp"
#include "storage/messages.hpp"
#include "storage/queue.hpp"
#include "storage/result.hpp"

namespace mailstead::storage {
namespace {

class Checker {
 public:
  explicit Checker(const ReadTxn& txn) : txn_(txn), modseq_(last_modseq(txn)) {}

  StoreCheck run() {
    for (const auto& user : list_users(txn_)) check_user(user);
    for (const auto& entry : list_queue(txn_)) {
      ++out_.queue_entries;
      references_[entry.blob.hex()] += 1;
      if (!read_blob(txn_, entry.blob)) problem("queue entry {} has no blob", entry.id);
    }
    check_blobs();
    return std::move(out_);
  }

 private:
  template <class... Args>
  void problem(fmt::format_string<Args...> format, Args&&... args) {
    if (out_.problems.size() < StoreCheck::kMaxProblems)
      out_.problems.push_back(fmt::format(format, std::forward<Args>(args)...));
  }

  void check_user(const User& user) {
    ++out_.users;
    auto again = find_user(txn_, user.address);
    if (!again || again->id != user.id) problem("user {} is not found through its address", user.address);
    Usage sum;
    for (const auto& box : list_mailboxes(txn_, user.id)) {
      ++out_.mailboxes;
      if (box.user != user.id) problem("mailbox {} is listed for user {} but belongs to {}", box.id, user.id, box.user);
      auto found = find_mailbox(txn_, user.id, box.name);
      if (!found || found->id != box.id) problem("mailbox \"{}\" of {} is not found by name", box.name, user.address);
      if (box.highest_modseq > modseq_)
        problem("mailbox {} has HIGHESTMODSEQ {} above the store's {}", box.id, box.highest_modseq, modseq_);
      auto counted = check_messages(box);
      if (counted.messages != box.messages || counted.bytes != box.bytes)
        problem("mailbox {} counts {} messages and {} bytes; it holds {} and {}", box.id, box.messages, box.bytes,
                counted.messages, counted.bytes);
      sum.messages += counted.messages;
      sum.bytes += counted.bytes;
    }
    auto usage = usage_of(txn_, user.id);
    if (usage.messages != sum.messages || usage.bytes != sum.bytes)
      problem("usage of {} says {} messages and {} bytes; the mailboxes hold {} and {}", user.address, usage.messages,
              usage.bytes, sum.messages, sum.bytes);
  }

  Usage check_messages(const Mailbox& box) {
    Usage counted;
    for_each_message(txn_, box.id, [&](const Message& m) {
      ++out_.messages;
      counted.messages += 1;
      counted.bytes += m.size;
      references_[m.blob.hex()] += 1;
      if (m.uid >= box.uid_next) problem("message {}/{} is at or above UIDNEXT {}", box.id, m.uid, box.uid_next);
      if (m.modseq > box.highest_modseq)
        problem("message {}/{} has modseq {} above HIGHESTMODSEQ {}", box.id, m.uid, m.modseq, box.highest_modseq);
      auto blob = read_blob(txn_, m.blob);
      if (!blob)
        problem("message {}/{} has no blob", box.id, m.uid);
      else if (blob->size() != m.size)
        problem("message {}/{} is {} bytes; its blob {}", box.id, m.uid, m.size, blob->size());
      try {
        if (!message_structure(txn_, m)) problem("message {}/{} has no structure record", box.id, m.uid);
      } catch (const StorageError& e) {
        problem("message {}/{}: {}", box.id, m.uid, e.what());
      }
      return true;
    });
    return counted;
  }

  void check_blobs() {
    const auto& t = txn_.state();
    std::uint64_t counted = 0;
    t.scan(t.dbs().blob_refs, "", [&](std::string_view key, std::string_view value) {
      ++counted;
      BlobId id;
      if (key.size() != id.bytes.size()) {
        problem("a blob reference has a key of {} bytes", key.size());
        return true;
      }
      std::copy(key.begin(), key.end(), id.bytes.begin());
      codec::Reader r(value, "blob reference");
      auto refs = r.u64();
      auto named = references_[id.hex()];
      counted_.insert(id.hex());
      if (refs != named) problem("blob {} counts {} references; {} name it", id.hex(), refs, named);
      if (!read_blob(txn_, id)) problem("blob {} is counted but has no bytes", id.hex());
      return true;
    });
    out_.blobs = counted;
    std::uint64_t data = 0, structures = 0;
    t.scan(t.dbs().blob_data, "", [&](std::string_view, std::string_view) {
      ++data;
      return true;
    });
    t.scan(t.dbs().message_meta, "", [&](std::string_view, std::string_view) {
      ++structures;
      return true;
    });
    if (data != counted) problem("{} blobs hold bytes; {} are counted", data, counted);
    if (structures != out_.messages) problem("{} structure records for {} messages", structures, out_.messages);
    for (const auto& [hex, named] : references_)
      if (named > 0 && !counted_.count(hex)) problem("blob {} is named {} times but not counted", hex, named);
  }

  const ReadTxn& txn_;
  std::uint64_t modseq_;
  std::map<std::string, std::uint64_t> references_;
  std::set<std::string> counted_;
  StoreCheck out_;
};

}  // namespace

StoreCheck check_store(const ReadTxn& txn) {
  return Checker(txn).run();
}

}  // namespace mailstead::storage
