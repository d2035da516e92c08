#include "storage/detail/threads.hpp"

#include <algorithm>
#include <string_view>

#include "common/text/ascii.hpp"
#include "storage/detail/blobs.hpp"
#include "storage/detail/codec.hpp"

namespace mailstead::storage::detail {
namespace {

constexpr std::size_t kKeyBytes = 16;  // of the SHA-256 of a Message-ID: collisions need 2^64 ids

std::string key_of(std::string_view id) {
  auto hash = hash_blob(id);
  return std::string(reinterpret_cast<const char*>(hash.bytes.data()), kKeyBytes);
}

std::string index_key(UserId user, const std::string& key) {
  return codec::key_u32(user) + key;
}

}  // namespace

ThreadKeys thread_keys(const mime::Part& message) {
  ThreadKeys keys;
  std::string_view own, in_reply_to, references;
  for (const auto& field : message.fields) {
    if (text::iequals_ascii(field.name, "Message-ID") && own.empty()) own = field.value;
    if (text::iequals_ascii(field.name, "In-Reply-To") && in_reply_to.empty()) in_reply_to = field.value;
    if (text::iequals_ascii(field.name, "References") && references.empty()) references = field.value;
  }
  auto own_ids = mime::message_ids(own);
  if (!own_ids.empty()) keys.own = key_of(own_ids.front());
  std::vector<std::string_view> parents;
  auto replied = mime::message_ids(in_reply_to);
  if (!replied.empty()) parents.push_back(replied.front());
  auto referenced = mime::message_ids(references);
  for (auto it = referenced.rbegin(); it != referenced.rend() && parents.size() < kMaxThreadParents; ++it)
    if (std::find(parents.begin(), parents.end(), *it) == parents.end()) parents.push_back(*it);
  for (auto id : parents) {
    auto key = key_of(id);
    if (key != keys.own) keys.parents.push_back(std::move(key));
  }
  return keys;
}

std::uint64_t assign_thread(TxnState& t, UserId user, const ThreadKeys& keys) {
  std::uint64_t thread = 0;
  // Its own id first: a reply that came earlier named it and holds its thread.
  std::vector<const std::string*> all;
  if (keys.own) all.push_back(&*keys.own);
  for (const auto& parent : keys.parents) all.push_back(&parent);
  for (const auto* key : all) {
    if (auto found = t.get(t.dbs().threads, index_key(user, *key))) {
      thread = codec::Reader(*found, "thread").u64();
      break;
    }
  }
  if (thread == 0) thread = t.next_counter("next_thread_id", 1);
  auto record = codec::Writer(1).u64(thread).take();
  for (const auto* key : all) t.insert(t.dbs().threads, index_key(user, *key), record);  // the first thread stays
  return thread;
}

void remove_threads(TxnState& t, UserId user) {
  t.erase_under(t.dbs().threads, codec::key_u32(user));
}

}  // namespace mailstead::storage::detail
