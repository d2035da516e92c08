#pragma once
// Group commit: many writers, one durable commit.
//
// A delivery must not be acknowledged before it is on disk, and an fsync costs a fraction of a
// millisecond to several milliseconds. Writers submit work; one thread takes whatever work has
// queued up, runs each item in its own nested transaction of a single write transaction, makes
// that durable with one commit, and only then calls each item's completion. So N concurrent
// deliveries cost one fsync, not N, and none is acknowledged early.
//
// Contract
// - Work runs on the committer's thread, inside a nested transaction; it may run more than
//   once (when the map is full it is grown and the whole batch runs again), so it must only
//   act through its transaction and write its results where its completion will read them,
//   resetting them at the start.
// - An exception from one work aborts that work's nested transaction only; its completion gets
//   the exception, the other items go on.
// - Completions run on the committer's thread after the commit (or with the commit's error);
//   they must be quick: post the result to wherever it is awaited.
// - The destructor finishes all submitted work.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>

#include "storage/store.hpp"

namespace mailstead::storage {

class GroupCommitter {
 public:
  using Work = std::function<void(WriteTxn&)>;
  using Done = std::function<void(std::exception_ptr error)>;  // null: committed

  explicit GroupCommitter(Store& store, std::size_t max_batch = 512);
  ~GroupCommitter();
  GroupCommitter(const GroupCommitter&) = delete;
  GroupCommitter& operator=(const GroupCommitter&) = delete;

  void submit(Work work, Done done);

  // Commits made so far and items they carried, for benchmarks and logs.
  std::uint64_t commits() const;
  std::uint64_t items() const;

 private:
  struct Item {
    Work work;
    Done done;
    std::exception_ptr error;
  };
  void run();
  void commit_batch(std::deque<Item>& batch);

  Store& store_;
  std::size_t max_batch_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Item> queue_;
  bool stopping_ = false;
  std::uint64_t commits_ = 0;
  std::uint64_t items_ = 0;
  std::thread thread_;
};

}  // namespace mailstead::storage
