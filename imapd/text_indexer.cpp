#include "imapd/text_indexer.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/log/log.hpp"
#include "common/net/supervise.hpp"
#include "imapd/proto/text_index.hpp"
#include "session/commit.hpp"
#include "storage/messages.hpp"
#include "storage/text_index.hpp"

namespace mailstead::imap {

namespace asio = net::asio;

namespace {

// What the index keeps of one stored message; a message that cannot be read may match
// anything.
text_index::Document document_of(const storage::ReadTxn& txn, const storage::Message& message,
                                 std::vector<std::pair<std::string_view, std::string_view>>& fields) {
  text_index::Document doc;
  fields.clear();
  auto structure = storage::message_structure(txn, message);
  auto bytes = storage::read_blob(txn, message.blob);
  bool have_fields =
      storage::for_each_header_field(txn, message, [&fields](std::string_view name, std::string_view value) {
        fields.emplace_back(name, value);
        return true;
      });
  if (!structure || !bytes || !have_fields) {
    doc.saturate();
    return doc;
  }
  text_index::add_message(doc, fields, *structure, *bytes);
  return doc;
}

// One batch: whole segments of the messages above the index, and how far they reach.
struct Batch {
  storage::TextIndexState from;  // the index as read
  storage::Uid through = 0;      // where it reaches once written
  std::vector<std::pair<storage::Uid, std::string>> segments;
  std::size_t messages = 0;
  bool more = false;  // stopped before the end of the mailbox
};

// Reads each message over a read view of its own: a view held while a whole segment is read
// would keep the pages freed meanwhile from reuse, and on a nearly full disk make writers fail
// that would otherwise have found room.
Batch read_batch(storage::Store& store, storage::MailboxId mailbox) {
  Batch batch;
  std::vector<storage::Uid> uids;  // the next messages above the index, whole segments of them
  {
    auto txn = store.read();
    if (!storage::mailbox_by_id(txn, mailbox)) return batch;
    batch.from = storage::text_index_state(txn, mailbox);
    // An index of another version is made again from the first message.
    batch.through = batch.from.version == text_index::kVersion ? batch.from.through : 0;
    storage::for_each_message_from(txn, mailbox, batch.through + 1, [&uids](const storage::Message& m) {
      uids.push_back(m.uid);
      return uids.size() < kIndexBatch * text_index::kMaxDocuments;
    });
  }
  // Segments are written whole: the messages left over, fewer than a segment, wait for more
  // (a search reads those few itself).
  uids.resize(uids.size() / text_index::kMaxDocuments * text_index::kMaxDocuments);
  std::vector<std::pair<storage::Uid, text_index::Document>> docs;
  docs.reserve(text_index::kMaxDocuments);
  std::vector<std::pair<std::string_view, std::string_view>> fields;
  const auto slice_end = std::chrono::steady_clock::now() + kIndexSlice;
  for (std::size_t i = 0; i < uids.size(); ++i) {
    {
      auto txn = store.read();
      // One expunged since it was listed has no place in the segment; its UID is passed all the same.
      if (auto m = storage::find_message(txn, mailbox, uids[i]))
        docs.emplace_back(m->uid, document_of(txn, *m, fields));
    }
    if ((i + 1) % text_index::kMaxDocuments != 0) continue;
    if (!docs.empty()) {
      std::vector<const text_index::Document*> all;
      for (const auto& [uid, doc] : docs) all.push_back(&doc);
      text_index::SegmentWriter writer(text_index::SegmentWriter::buckets_for(all));
      for (const auto& [uid, doc] : docs) writer.add(uid, doc);
      batch.segments.emplace_back(docs.front().first, writer.encode());
    }
    batch.through = uids[i];
    batch.messages += text_index::kMaxDocuments;
    docs.clear();
    if (i + 1 < uids.size() && std::chrono::steady_clock::now() >= slice_end) {
      batch.more = true;
      break;
    }
  }
  if (!batch.more && uids.size() == kIndexBatch * text_index::kMaxDocuments) batch.more = true;
  return batch;
}

}  // namespace

TextIndexer::TextIndexer(const session::Services& services) : services_(services) {}

TextIndexer::~TextIndexer() {
  stop();
  work_.reset();
  if (thread_.joinable()) thread_.join();
}

void TextIndexer::start() {
  work_.emplace(io_.get_executor());
  net::supervise(io_.get_executor(), "text_indexer", [this] { return loop(); });
  thread_ = std::thread([this] {
    // Linux gives each thread a nice value of its own: indexing yields to the sessions.
    if (setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 10) != 0)
      log::warn("-", "text_index_priority", "error={}", log::quoted(std::strerror(errno)));
    io_.run();
  });
}

void TextIndexer::stop() {
  asio::post(io_, [this] {
    stopping_ = true;
    timer_.cancel();
  });
}

void TextIndexer::appended(const std::vector<storage::MailboxId>& mailboxes) {
  if (mailboxes.empty()) return;
  {
    std::lock_guard lock(mutex_);
    pending_.insert(mailboxes.begin(), mailboxes.end());
  }
  asio::post(io_, [this] { timer_.cancel(); });
}

void TextIndexer::look_everywhere() {
  {
    std::lock_guard lock(mutex_);
    everywhere_ = true;
  }
  asio::post(io_, [this] { timer_.cancel(); });
}

net::awaitable<void> TextIndexer::loop() {
  while (!stopping_) {
    bool idle = false;
    {
      std::lock_guard lock(mutex_);
      idle = pending_.empty() && !everywhere_;
    }
    if (idle) {
      timer_.expires_at(asio::steady_timer::time_point::max());
      co_await timer_.async_wait(net::use_tuple);
      if (stopping_) break;
      // A burst of appends makes one batch.
      timer_.expires_after(kIndexDelay);
      co_await timer_.async_wait(net::use_tuple);
      if (stopping_) break;
    }
    std::set<storage::MailboxId> work;
    bool everywhere = false;
    {
      std::lock_guard lock(mutex_);
      work.swap(pending_);
      everywhere = std::exchange(everywhere_, false);
    }
    bool failed = false;
    try {
      if (everywhere) {
        auto txn = services_.store.read();
        for (const auto& lag : storage::text_index_lag(txn, text_index::kVersion)) work.insert(lag.mailbox);
      }
      for (auto mailbox : work)
        if (!co_await catch_up(mailbox)) co_return;
    } catch (const std::exception& e) {
      log::error("-", "text_index_failed", "error={}", log::quoted(e.what()));
      failed = true;
    }
    if (failed) {  // the store's trouble (a full disk?): try again later, everywhere
      {
        std::lock_guard lock(mutex_);
        everywhere_ = true;
      }
      timer_.expires_after(std::chrono::seconds(10));
      co_await timer_.async_wait(net::use_tuple);
    }
  }
}

net::awaitable<bool> TextIndexer::catch_up(storage::MailboxId mailbox) {
  const auto started = std::chrono::steady_clock::now();
  std::size_t indexed = 0;
  storage::Uid through = 0;
  for (;;) {
    if (stopping_) co_return false;
    auto batch = read_batch(services_.store, mailbox);
    if (batch.messages == 0) break;
    bool written = false;
    storage::GroupCommitter::Work write = [&batch, &written, mailbox](storage::WriteTxn& t) {
      written =
          storage::extend_text_index(t, mailbox, batch.from, {batch.through, text_index::kVersion}, batch.segments);
    };
    auto outcome = co_await session::commit(services_.committer, std::move(write));
    if (outcome.error) std::rethrow_exception(outcome.error);
    if (!written) break;  // another process got there first, or the mailbox is gone
    indexed += batch.messages;
    through = batch.through;
    if (!batch.more) break;
    co_await net::yield_to_others();
  }
  if (indexed > 0) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
    log::info("-", "text_indexed", "mailbox={} through={} messages={} ms={}", mailbox, through, indexed, ms.count());
  }
  co_return true;
}

}  // namespace mailstead::imap
