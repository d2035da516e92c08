// mailstead-storage-bench: how fast the store takes durable deliveries and reads metadata.
//
//   mailstead-storage-bench DIR deliver RECIPIENTS WRITERS SECONDS
//       4 KiB messages, each to RECIPIENTS local users, from WRITERS threads through one
//       GroupCommitter; every delivery waits until it is durable. Prints deliveries/s and
//       the average number of deliveries per fsync.
//   mailstead-storage-bench DIR fetch MESSAGES
//       appends MESSAGES messages to one mailbox, then times reading all their metadata
//       (flags, size, date, modseq) in one read transaction.
//   mailstead-storage-bench - prepare REPEAT
//       what making a message ready to store costs (parse, preview, hash; storage::prepare_message,
//       outside the store's writer), per message, for a 4 KiB letter, a 60 KiB HTML newsletter
//       and a 1 MiB message with an attachment: the whole, and the preview alone.
// One line of "key=value" output per run; bench/storage.sh runs it repeatedly and reports
// medians.

#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "common/mime/mime.hpp"
#include "common/mime/preview.hpp"
#include "storage/accounts.hpp"
#include "storage/group_commit.hpp"
#include "storage/mailboxes.hpp"
#include "storage/messages.hpp"

using namespace mailstead::storage;
using Clock = std::chrono::steady_clock;

namespace {

std::unique_ptr<Store> open(const char* dir) {
  StoreOptions o;
  o.dir = dir;
  o.map_size = std::uint64_t{1} << 32;
  return Store::open(o);
}

std::vector<UserId> make_users(Store& store, int count) {
  return *store.update([&](WriteTxn& t) -> Result<std::vector<UserId>> {
    (void)add_domain(t, "example.test");
    std::vector<UserId> ids;
    for (int i = 0; i < count; ++i) ids.push_back(add_user(t, fmt::format("user{}@example.test", i), "x", {})->id);
    return ids;
  });
}

std::string message_4k(long n) {
  std::string m = fmt::format(
      "From: sender@example.org\r\nTo: user@example.test\r\nSubject: bench {}\r\n"
      "Message-ID: <{}@bench.test>\r\n\r\n",
      n, n);
  while (m.size() < 4096 - 2) m += std::string(std::min<std::size_t>(76, 4094 - m.size()), 'a') + "\r\n";
  m.resize(4094);
  return m + "\r\n";
}

int deliver(const char* dir, int recipients, int writers, int seconds) {
  auto store = open(dir);
  auto users = make_users(*store, 100);
  GroupCommitter committer(*store);
  std::atomic<long> next{0}, done{0};
  auto stop_at = Clock::now() + std::chrono::seconds(seconds);
  std::vector<std::thread> threads;
  for (int w = 0; w < writers; ++w) {
    threads.emplace_back([&] {
      while (Clock::now() < stop_at) {
        long n = next++;
        std::vector<UserId> to;
        for (int r = 0; r < recipients; ++r) to.push_back(users[static_cast<std::size_t>((n + r * 7) % 100)]);
        auto bytes = message_4k(n);
        std::promise<bool> durable;
        committer.submit([&](WriteTxn& t) { (void)deliver_message(t, prepare_message(bytes), to); },
                         [&](std::exception_ptr e) { durable.set_value(!e); });
        if (durable.get_future().get()) ++done;
      }
    });
  }
  auto started = Clock::now();
  for (auto& t : threads) t.join();
  double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
  std::printf(
      "deliveries_per_s=%.0f recipients=%d writers=%d per_commit=%.1f\n", done / elapsed, recipients, writers,
      static_cast<double>(committer.items()) / static_cast<double>(std::max<std::uint64_t>(1, committer.commits())));
  return 0;
}

int fetch(const char* dir, long messages) {
  auto store = open(dir);
  auto user = make_users(*store, 1)[0];
  auto inbox = *find_mailbox(store->read(), user, "INBOX");
  for (long done = 0; done < messages;) {
    (void)store->update([&](WriteTxn& t) -> Result<void> {
      for (int i = 0; i < 5000 && done < messages; ++i, ++done)
        (void)append_message(t, inbox, prepare_message(message_4k(done)));
      return {};
    });
  }
  auto started = Clock::now();
  std::uint64_t bytes = 0, count = 0;
  {
    auto txn = store->read();
    for_each_message(txn, inbox.id, [&](const Message& m) {
      bytes += m.size + m.flags + static_cast<std::uint64_t>(m.internal_date) + m.modseq;
      ++count;
      return true;
    });
  }
  double ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
  std::printf("fetch_ms=%.1f messages=%lu checksum=%lu\n", ms, static_cast<unsigned long>(count),
              static_cast<unsigned long>(bytes % 1000));
  return 0;
}

std::string newsletter_60k() {
  std::string html = "<!DOCTYPE html><html><head><style>";
  for (int i = 0; i < 300; ++i) html += fmt::format(".c{} {{ color: #{:06x}; padding: 0 4px; }}\r\n", i, i * 977);
  html += "</style></head><body><div style=\"display:none\">This week&nbsp;&zwnj;&nbsp;&zwnj;</div>";
  for (int i = 0; html.size() < 60000; ++i)
    html += fmt::format(
        "<table><tr><td class=\"c{}\"><p>Item {} &mdash; read <a href=\"https://example.org/{}\">"
        "more</a> about it.</p></td></tr></table>\r\n",
        i % 300, i, i);
  html += "</body></html>\r\n";
  return "From: news@example.org\r\nTo: user@example.test\r\nSubject: weekly\r\nMessage-ID: <n@example.org>\r\n"
         "MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\n"
         "Content-Type: text/html; charset=utf-8\r\n\r\n" +
         html + "--b--\r\n";
}

std::string attachment_1m() {
  std::string m =
      "From: a@example.org\r\nTo: user@example.test\r\nSubject: report\r\nMessage-ID: <r@example.org>\r\n"
      "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
      "Content-Type: text/plain\r\n\r\nThe report is attached.\r\n--b\r\n"
      "Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n";
  while (m.size() < 1024 * 1024) m += std::string(76, 'Q') + "\r\n";
  return m + "--b--\r\n";
}

int prepare(long repeat) {
  const std::pair<const char*, std::string> samples[] = {
      {"letter_4k", message_4k(1)}, {"newsletter_60k", newsletter_60k()}, {"attachment_1m", attachment_1m()}};
  for (const auto& [name, bytes] : samples) {
    std::size_t sink = 0;
    auto started = Clock::now();
    for (long i = 0; i < repeat; ++i) sink += prepare_message(bytes).size();
    double whole = std::chrono::duration<double, std::micro>(Clock::now() - started).count() / repeat;
    auto structure = mailstead::mime::parse_message(bytes);
    started = Clock::now();
    for (long i = 0; i < repeat; ++i) sink += mailstead::mime::make_preview(bytes, structure).size();
    double preview = std::chrono::duration<double, std::micro>(Clock::now() - started).count() / repeat;
    std::printf("%s prepare_us=%.1f preview_us=%.1f (%zu)\n", name, whole, preview, sink % 10);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 2 ? argv[2] : "";
  if (mode == "deliver" && argc == 6)
    return deliver(argv[1], std::stoi(argv[3]), std::stoi(argv[4]), std::stoi(argv[5]));
  if (mode == "fetch" && argc == 4) return fetch(argv[1], std::stol(argv[3]));
  if (mode == "prepare" && argc == 4) return prepare(std::stol(argv[3]));
  std::fprintf(stderr,
               "usage: mailstead-storage-bench DIR deliver RECIPIENTS WRITERS SECONDS | DIR fetch MESSAGES"
               " | - prepare REPEAT\n");
  return 2;
}
