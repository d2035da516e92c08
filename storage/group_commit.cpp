#include "storage/group_commit.hpp"

namespace mailstead::storage {

GroupCommitter::GroupCommitter(Store& store, std::size_t max_batch)
    : store_(store), max_batch_(max_batch), thread_([this] { run(); }) {}

GroupCommitter::~GroupCommitter() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void GroupCommitter::submit(Work work, Done done) {
  {
    std::lock_guard lock(mutex_);
    queue_.push_back({std::move(work), std::move(done), nullptr});
  }
  wake_.notify_one();
}

std::uint64_t GroupCommitter::commits() const {
  std::lock_guard lock(mutex_);
  return commits_;
}

std::uint64_t GroupCommitter::items() const {
  std::lock_guard lock(mutex_);
  return items_;
}

void GroupCommitter::run() {
  for (;;) {
    std::deque<Item> batch;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and nothing left
      while (!queue_.empty() && batch.size() < max_batch_) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    commit_batch(batch);
    {
      std::lock_guard lock(mutex_);
      ++commits_;
      items_ += batch.size();
    }
    for (auto& item : batch) item.done(item.error);
  }
}

void GroupCommitter::commit_batch(std::deque<Item>& batch) {
  try {
    (void)store_.update([&](WriteTxn& txn) -> Result<void> {  // per-item failures live in the items
      for (auto& item : batch) {
        item.error = nullptr;
        try {
          auto child = txn.nested();
          item.work(child);
          child.commit();
        } catch (const StorageError& e) {
          if (e.code() == Errc::no_space) throw;  // grow the map (or give up) for the whole batch
          item.error = std::current_exception();
        } catch (...) {
          item.error = std::current_exception();
        }
      }
      return {};
    });
  } catch (...) {
    for (auto& item : batch) item.error = std::current_exception();
  }
}

}  // namespace mailstead::storage
