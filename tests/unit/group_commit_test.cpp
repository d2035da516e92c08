#include "storage/group_commit.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "storage/messages.hpp"
#include "storage_fixture.hpp"

namespace mailstead::storage {
namespace {

using testing::ok;

class GroupCommitTest : public testing::StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    user_ = ok(store().update([](WriteTxn& t) -> Result<UserId> {
      ok(add_domain(t, "example.test"));
      return ok(add_user(t, "alice@example.test", "h", {})).id;
    }));
  }

  // Delivers `bytes` through the committer and waits until it is durable.
  std::exception_ptr deliver(GroupCommitter& c, const std::string& bytes) {
    std::promise<std::exception_ptr> done;
    c.submit([&](WriteTxn& t) { ok(deliver_message(t, prepare_message(bytes), {user_})[0].result); },
             [&](std::exception_ptr e) { done.set_value(e); });
    return done.get_future().get();
  }

  UserId user_ = 0;
};

TEST_F(GroupCommitTest, ConcurrentDeliveriesShareCommits) {
  GroupCommitter committer(store());
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int w = 0; w < 16; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < 50; ++i)
        if (deliver(committer, fmt::format("Subject: {} {}\r\n\r\nx\r\n", w, i))) ++failures;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(committer.items(), 800u);
  EXPECT_LT(committer.commits(), committer.items()) << "no two deliveries ever shared a commit";
  EXPECT_EQ(ok(find_mailbox(store().read(), user_, "INBOX")).messages, 800u);
}

TEST_F(GroupCommitTest, AFailingItemDoesNotTakeTheOthersWithIt) {
  GroupCommitter committer(store());
  std::promise<void> release;
  auto gate = release.get_future().share();
  std::vector<std::promise<std::exception_ptr>> results(3);
  // Hold the committer's thread so that the three items land in one batch.
  committer.submit([gate](WriteTxn&) { gate.wait(); }, [](std::exception_ptr) {});
  auto inbox = ok(find_mailbox(store().read(), user_, "INBOX"));
  committer.submit([&](WriteTxn& t) { ok(append_message(t, inbox, prepare_message("Subject: a\r\n\r\na\r\n"))); },
                   [&](std::exception_ptr e) { results[0].set_value(e); });
  committer.submit(
      [&](WriteTxn& t) {
        ok(append_message(t, inbox, prepare_message("Subject: doomed\r\n\r\nb\r\n")));
        throw std::runtime_error("half-way failure");
      },
      [&](std::exception_ptr e) { results[1].set_value(e); });
  committer.submit([&](WriteTxn& t) { ok(append_message(t, inbox, prepare_message("Subject: c\r\n\r\nc\r\n"))); },
                   [&](std::exception_ptr e) { results[2].set_value(e); });
  release.set_value();
  EXPECT_FALSE(results[0].get_future().get());
  EXPECT_TRUE(results[1].get_future().get());
  EXPECT_FALSE(results[2].get_future().get());
  auto r = store().read();
  auto after = ok(find_mailbox(r, user_, "INBOX"));
  EXPECT_EQ(after.messages, 2u);  // the failed item's append was rolled back
  EXPECT_EQ(usage_of(r, user_).messages, 2u);
}

TEST_F(GroupCommitTest, GrowsTheMapAndRunsTheBatchAgain) {
  options_.map_size = std::uint64_t{1} << 20;
  reopen();
  auto initial = store().map_size();
  GroupCommitter committer(store());
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int w = 0; w < 4; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < 20; ++i)
        if (deliver(committer, fmt::format("Subject: {} {}\r\n\r\n{}\r\n", w, i, std::string(50000, 'z')))) ++failures;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures, 0);
  EXPECT_GT(store().map_size(), initial);
  EXPECT_EQ(ok(find_mailbox(store().read(), user_, "INBOX")).messages, 80u);
}

TEST_F(GroupCommitTest, DestructorFinishesSubmittedWork) {
  std::atomic<int> done{0};
  {
    GroupCommitter committer(store());
    auto inbox = ok(find_mailbox(store().read(), user_, "INBOX"));
    for (int i = 0; i < 100; ++i)
      committer.submit(
          [&, i](WriteTxn& t) {
            ok(append_message(t, inbox, prepare_message(fmt::format("Subject: {}\r\n\r\n.\r\n", i))));
          },
          [&](std::exception_ptr e) { done += e ? 0 : 1; });
  }
  EXPECT_EQ(done, 100);
}

}  // namespace
}  // namespace mailstead::storage
