#pragma once
// Keeps each mailbox's text index (imapd/proto/text_index.hpp) up with what is appended, in
// the background, so that a SEARCH of BODY, TEXT or an address or subject reads only the
// messages that may match. One per imapd process, on a thread of its own at a lower priority
// (nice 10): the sessions' threads never wait for it, however large a message it reads, and
// on a busy machine it takes what CPU they leave. The change watcher tells it which mailboxes
// got messages; it waits a moment so that a burst (a delivery to a list, an import, a
// client's MULTIAPPEND) makes one batch, reads each new message over a read view of its own
// (a view held longer would keep freed pages from reuse) and writes a batch (up to
// kIndexBatch segments, or what kIndexSlice of reading gave) through the group committer. It
// indexes 64 messages at a time (text_index::SegmentWriter): a mailbox's last few messages
// wait for more, and a search reads them. A mailbox's index only ever covers every message up
// to a UID, and a write checks that no one moved it meanwhile, so two processes indexing the
// same mailbox cost work, never correctness; messages it has not reached are read by SEARCH
// as before.

#include <chrono>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "common/net/asio.hpp"
#include "session/services.hpp"
#include "storage/mailboxes.hpp"

namespace mailstead::imap {

inline constexpr std::chrono::milliseconds kIndexSlice{20};
inline constexpr std::chrono::milliseconds kIndexDelay{500};
// Segments (of 64 messages) per written batch: a batch is one write transaction.
inline constexpr std::size_t kIndexBatch = 8;

class TextIndexer {
 public:
  explicit TextIndexer(const session::Services& services);
  ~TextIndexer();  // waits for the batch in hand, if any

  void start();
  void stop();  // from any thread

  // Messages were appended to these mailboxes (from any thread).
  void appended(const std::vector<storage::MailboxId>& mailboxes);
  // Something may have been missed (the change log was trimmed past what the watcher read):
  // look at every mailbox.
  void look_everywhere();

 private:
  net::awaitable<void> loop();
  // Indexes what `mailbox` has above its index; false if that was cut short by stop().
  net::awaitable<bool> catch_up(storage::MailboxId mailbox);

  net::asio::io_context io_{1};
  std::optional<net::asio::executor_work_guard<net::asio::io_context::executor_type>> work_;
  std::thread thread_;
  net::asio::steady_timer timer_{io_};
  session::Services services_;  // references to what the daemon holds
  bool stopping_ = false;       // on thread_

  std::mutex mutex_;
  std::set<storage::MailboxId> pending_;
  bool everywhere_ = true;  // the first round looks at every mailbox
};

}  // namespace mailstead::imap
