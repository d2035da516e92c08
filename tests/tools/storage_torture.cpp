// mailstead-storage-torture: drives the store from a separate process, for the crash and
// multi-process tests (tests/e2e/test_storage.py). A test fixture, not installed.
//
//   deliver DIR FIRST COUNT WRITERS  deliver messages FIRST..FIRST+COUNT-1 from WRITERS threads
//                                    through one GroupCommitter; print "ok K" once K is durable
//   fill DIR                         deliver until the store refuses; print "full" and the
//                                    number delivered if it refused with Errc::no_space
//   check DIR                        verify the store's invariants in one read transaction and
//                                    print {"K": [user ids], ...} for every message found
//   enqueue DIR COUNT DOMAINS SENDER  put COUNT outbound queue entries in the queue, entry K
//                                    for rK@dJ.example (J = K mod DOMAINS) from SENDER,
//                                    1,000 per transaction; print "ok COUNT"
//
// Message K goes to the users recipients(K) of u0..u4@example.test; its bytes name K.

#include <fmt/format.h>

#include <atomic>
#include <charconv>
#include <cstdio>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "storage/accounts.hpp"
#include "storage/check.hpp"
#include "storage/group_commit.hpp"
#include "storage/mailboxes.hpp"
#include "storage/messages.hpp"
#include "storage/queue.hpp"
#include "storage/testing.hpp"

using namespace mailstead::storage;

namespace {

constexpr int kUsers = 5;

std::vector<std::string> recipients(long k) {
  std::set<std::string> users{fmt::format("u{}@example.test", k % kUsers),
                              fmt::format("u{}@example.test", (k * 7 + 3) % kUsers)};
  return {users.begin(), users.end()};
}

std::string message(long k) {
  return fmt::format("Message-ID: <{}@torture.test>\r\nSubject: torture {}\r\n\r\n{}\r\n", k, k,
                     std::string(static_cast<std::size_t>(100 + k % 3000), 'x'));
}

std::unique_ptr<Store> open(const char* dir) {
  StoreOptions options;
  options.dir = dir;
  options.map_size = std::uint64_t{4} << 20;  // small: the runs also exercise growth
  return Store::open(options);
}

void ensure_accounts(Store& store) {
  auto made = store.update([](WriteTxn& t) -> Result<void> {
    if (!is_local_domain(t, "example.test")) (void)add_domain(t, "example.test");
    for (int u = 0; u < kUsers; ++u) {
      auto address = fmt::format("u{}@example.test", u);
      if (!find_user(t, address)) (void)add_user(t, address, "x", {});
    }
    return {};
  });
  (void)made;
}

int deliver(const char* dir, long first, long count, int writers) {
  auto store = open(dir);
  ensure_accounts(*store);
  std::map<std::string, UserId> ids;
  for (int u = 0; u < kUsers; ++u) {
    auto address = fmt::format("u{}@example.test", u);
    ids[address] = find_user(store->read(), address)->id;
  }
  GroupCommitter committer(*store);
  std::mutex out;
  std::atomic<long> next{first};
  std::vector<std::thread> threads;
  for (int w = 0; w < writers; ++w) {
    threads.emplace_back([&] {
      for (long k; (k = next++) < first + count;) {
        std::vector<UserId> users;
        for (const auto& r : recipients(k)) users.push_back(ids[r]);
        auto bytes = message(k);
        std::promise<bool> durable;
        auto all_delivered = std::make_shared<bool>(false);
        committer.submit(
            [&, all_delivered](WriteTxn& t) {
              *all_delivered = true;
              for (auto& o : deliver_message(t, prepare_message(bytes), users))
                *all_delivered = *all_delivered && static_cast<bool>(o.result);
            },
            [&, all_delivered](std::exception_ptr e) { durable.set_value(!e && *all_delivered); });
        if (durable.get_future().get()) {
          std::lock_guard lock(out);
          std::printf("ok %ld\n", k);
          std::fflush(stdout);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  return 0;
}

int fill(const char* dir) {
  auto store = open(dir);
  ensure_accounts(*store);
  auto user = find_user(store->read(), "u0@example.test")->id;
  long delivered = 0;
  try {
    for (long k = 0;; ++k) {
      auto bytes = message(k) + std::string(20000, 'f');
      auto ok = store->update([&](WriteTxn& t) -> Result<void> {
        auto outcomes = deliver_message(t, prepare_message(bytes), {user});
        if (!outcomes[0].result) return outcomes[0].result.error();
        return {};
      });
      if (!ok) {
        std::fprintf(stderr, "refused: %s\n", ok.error().detail.c_str());
        return 1;
      }
      std::printf("ok %ld\n", k);
      ++delivered;
    }
  } catch (const StorageError& e) {
    std::printf("%s %ld %s\n", e.code() == Errc::no_space ? "full" : "other", delivered, e.what());
    return e.code() == Errc::no_space ? 0 : 1;
  }
}

[[noreturn]] void violated(const std::string& what) {
  std::fprintf(stderr, "invariant violated: %s\n", what.c_str());
  std::exit(1);
}

int check(const char* dir) {
  auto store = open(dir);
  auto txn = store->read();
  // What `mailstead check` verifies, then this tool's own accounting of every message.
  auto verdict = check_store(txn);
  if (!verdict.problems.empty()) violated(fmt::format("{}", fmt::join(verdict.problems, "; ")));
  std::map<std::string, std::uint64_t> references;
  std::map<long, std::vector<UserId>> found;
  std::uint64_t all_messages = 0;
  for (const auto& user : list_users(txn)) {
    Usage sum;
    for (const auto& box : list_mailboxes(txn, user.id)) {
      std::uint64_t messages = 0, bytes = 0;
      for_each_message(txn, box.id, [&](const Message& m) {
        auto blob = read_blob(txn, m.blob);
        if (!blob) violated(fmt::format("message {}/{} has no blob", box.id, m.uid));
        if (blob->size() != m.size) violated("blob size differs from the message size");
        if (!message_structure(txn, m)) violated(fmt::format("message {}/{} has no structure", box.id, m.uid));
        ++all_messages;
        references[m.blob.hex()] += 1;
        messages += 1;
        bytes += m.size;
        auto at = blob->find("Subject: torture ");
        if (at != std::string_view::npos) {
          long k = 0;
          std::from_chars(blob->data() + at + 17, blob->data() + blob->size(), k);
          found[k].push_back(user.id);
        }
        return true;
      });
      if (messages != box.messages || bytes != box.bytes) violated(fmt::format("counters of mailbox {}", box.name));
      sum.messages += messages;
      sum.bytes += bytes;
    }
    auto usage = usage_of(txn, user.id);
    if (usage.messages != sum.messages || usage.bytes != sum.bytes) violated("usage of " + user.address);
  }
  for (const auto& entry : list_queue(txn)) references[entry.blob.hex()] += 1;
  auto tables = testing::blob_tables(txn);
  for (const auto& [id, refs] : tables.references) {
    if (references[id.hex()] != refs)
      violated(fmt::format("blob {} counts {} references, {} exist", id.hex(), refs, references[id.hex()]));
    if (!read_blob(txn, id)) violated("blob reference without data");
  }
  std::uint64_t blobs = tables.references.size();
  if (tables.data != blobs) violated(fmt::format("{} blobs stored, {} referenced", tables.data, blobs));
  if (tables.structures != all_messages)
    violated(fmt::format("{} structures for {} messages", tables.structures, all_messages));
  std::string json = "{";
  for (const auto& [k, users] : found) {
    if (json.size() > 1) json += ',';
    json += fmt::format("\"{}\":[{}]", k, fmt::join(users, ","));
  }
  std::printf("%s}\n", json.c_str());
  return 0;
}

int enqueue_entries(const char* dir, long count, long domains, const std::string& sender) {
  auto store = open(dir);
  for (long first = 0; first < count; first += 1000) {
    auto done = store->update([&](WriteTxn& t) -> Result<void> {
      for (long k = first; k < std::min(count, first + 1000); ++k) {
        NewQueueEntry entry;
        entry.sender = sender;
        QueuedRecipient r;
        r.address = fmt::format("r{}@d{}.example", k, k % domains);
        entry.recipients.push_back(r);
        auto queued = enqueue(t, fmt::format("Subject: queued {}\r\n\r\nmessage {}\r\n", k, k), entry);
        if (!queued) return queued.error();
      }
      return {};
    });
    if (!done) throw std::runtime_error(done.error().detail);
  }
  std::printf("ok %ld\n", count);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  try {
    if (mode == "deliver" && argc == 6)
      return deliver(argv[2], std::stol(argv[3]), std::stol(argv[4]), std::stoi(argv[5]));
    if (mode == "check" && argc == 3) return check(argv[2]);
    if (mode == "fill" && argc == 3) return fill(argv[2]);
    if (mode == "enqueue" && argc == 6)
      return enqueue_entries(argv[2], std::stol(argv[3]), std::stol(argv[4]), argv[5]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "storage-torture: %s\n", e.what());
    return 1;
  }
  std::fprintf(stderr,
               "usage: mailstead-storage-torture deliver DIR FIRST COUNT WRITERS | fill DIR | check DIR | "
               "enqueue DIR COUNT DOMAINS SENDER\n");
  return 2;
}
