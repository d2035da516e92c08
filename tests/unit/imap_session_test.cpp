// The IMAP session (imapd/session*.cpp) driven by scripts of client lines and the exact server
// lines (tests/unit/imap_scripts/*.txt), in process: sessions run on real Connections over
// socketpairs, with a store in a temporary directory, and no network at all. Each script
// starts with alice@example.test's INBOX holding one message.
//
// Script lines:
//   C: text          a line (CRLF added); consecutive C: lines go out in one write (pipelining);
//                    $UIDVALIDITY stands for INBOX's
//   S: line          the next server line, exactly
//   S~ regex         the next server line matches the regular expression, whole
//   other: command   a command run to completion, tagged OK, in a second session that
//                    selected INBOX (another client changing the mailbox meanwhile)
//   trim             the change log loses every entry so far, as storage.change_log_retention
//                    would have it
//   damage           the structure record of INBOX's first message no longer decodes, as in a
//                    damaged store (its reader throws)
//   closed           the server has closed the connection
//   # ...            a comment

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/local/connect_pair.hpp>
#include <filesystem>
#include <fstream>
#include <future>
#include <regex>
#include <thread>

#include "common/auth/password.hpp"
#include "common/config/config.hpp"
#include "common/net/connection.hpp"
#include "imapd/session.hpp"
#include "storage/accounts.hpp"
#include "storage/changes.hpp"
#include "storage/group_commit.hpp"
#include "storage/mailboxes.hpp"
#include "storage/messages.hpp"
#include "storage/testing.hpp"
#include "tests/unit/script_client.hpp"
#include "tests/unit/storage_fixture.hpp"

namespace mailstead {
namespace {

namespace asio = net::asio;
using storage::testing::ok;
using testing::ScriptClient;

constexpr std::string_view kPassword = "alice's long password";

net::awaitable<void> serve(std::shared_ptr<net::Connection> connection, const imap::ImapContext& context) {
  co_await imap::serve_imap(*connection, context);
  connection->close();
}

class ImapSessionTest : public storage::testing::StoreTest, public ::testing::WithParamInterface<std::string> {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    // METADATA limits at their smallest, so that scripts reach them.
    config_ = testing::test_config(dir_,
                                   "[imapd]\nlisten = []\ntls_listen = []\nallow_plaintext_auth = true\n"
                                   "max_metadata_entries = 10\nmax_metadata_size = \"1K\"\n"
                                   "[auth]\nfailure_delay = \"0s\"\n");
    ASSERT_TRUE(config_);
    auto hash = auth::hash_password(kPassword);
    ok(store().update([&](storage::WriteTxn& t) -> storage::Result<void> {
      ok(storage::add_domain(t, "example.test"));
      auto alice = ok(storage::add_user(t, "alice@example.test", hash, {}));
      for (auto& outcome : storage::deliver_message(
               t, storage::prepare_message("From: bob@example.org\r\nSubject: script\r\n\r\nHello script\r\n"),
               {alice.id}))
        ok(std::move(outcome.result));
      return {};
    }));
    committer_ = std::make_unique<storage::GroupCommitter>(store());
    passwords_ = std::make_unique<net::PasswordPool>(1);
    watcher_ = std::make_unique<imap::ChangeWatcher>(io_, store());
    watcher_->start();
    context_ = std::make_unique<imap::ImapContext>(imap::ImapContext{
        session::Services{*config_, store(), *committer_, *passwords_}, *watcher_, snapshots_, recent_});
    io_thread_ = std::thread([this] { io_.run(); });
  }

  void TearDown() override {
    // A script that failed half-way leaves its sessions waiting for input: end them.
    for (auto& c : connections_) asio::post(io_, [c] { c->close(); });
    watcher_->stop();
    work_.reset();
    io_thread_.join();
    connections_.clear();  // their timers belong to io_, which goes first
    context_.reset();
    watcher_.reset();
    passwords_.reset();
    committer_.reset();
    StoreTest::TearDown();
  }

  // A new session; its end promise is set when the session is over.
  ScriptClient connect(std::shared_ptr<std::promise<void>> finished) {
    asio::local::stream_protocol::socket server_end(io_), client_end(io_);
    asio::local::connect_pair(server_end, client_end);
    auto connection =
        std::make_shared<net::Connection>(net::StreamSocket(std::move(server_end)), nullptr, "script", 64 * 1024);
    connections_.push_back(connection);
    asio::co_spawn(io_, serve(connection, *context_), [finished](const std::exception_ptr&) { finished->set_value(); });
    return ScriptClient(std::move(client_end));
  }

  void run_script(const std::filesystem::path& path);

  std::string inbox_uid_validity() {
    auto txn = store().read();
    auto alice = storage::find_user(txn, "alice@example.test");
    return std::to_string(ok(storage::find_mailbox(txn, alice->id, "INBOX")).uid_validity);
  }

  // Notes the log's end now and trims, as if a day had passed with a day's retention.
  void trim_change_log() {
    const std::int64_t now = std::time(nullptr);
    for (auto when : {now, now + 2 * 86400})
      ok(store().update([&](storage::WriteTxn& t) -> storage::Result<void> {
        storage::trim_change_log(t, when, 86400, 1000000);
        return {};
      }));
    ASSERT_TRUE(storage::changes_since(store().read(), 0).empty());
  }

  void damage_first_message() {
    ok(store().update([&](storage::WriteTxn& t) -> storage::Result<void> {
      auto alice = storage::find_user(t, "alice@example.test");
      auto inbox = ok(storage::find_mailbox(t, alice->id, "INBOX"));
      storage::testing::damage_structure(t, inbox.id, storage::list_uids(t, inbox.id).front());
      return {};
    }));
  }

  std::unique_ptr<config::Config> config_;
  std::unique_ptr<storage::GroupCommitter> committer_;
  std::unique_ptr<net::PasswordPool> passwords_;
  std::unique_ptr<imap::ChangeWatcher> watcher_;
  imap::SnapshotCache snapshots_;
  imap::RecentClaims recent_;
  std::unique_ptr<imap::ImapContext> context_;
  std::vector<std::shared_ptr<net::Connection>> connections_;
  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_{io_.get_executor()};
  std::thread io_thread_;
};

// Reads up to the tagged answer to `tag`; returns it (empty if the connection closed).
std::string tagged_answer(ScriptClient& client, const std::string& tag) {
  while (auto line = client.line())
    if (line->starts_with(tag + " ")) return *line;
  return {};
}

// The second session of "other:" lines: logged in, INBOX selected.
class OtherSession {
 public:
  explicit OtherSession(ScriptClient client) : client_(std::move(client)) {
    client_.line();  // greeting
    command(fmt::format("LOGIN alice@example.test \"{}\"", kPassword));
    command("SELECT INBOX");
  }
  void command(const std::string& text) {
    auto tag = "o" + std::to_string(++count_);
    client_.send(tag + " " + text + "\r\n");
    auto answer = tagged_answer(client_, tag);
    EXPECT_TRUE(answer.starts_with(tag + " OK")) << "other: " << text << " -> " << answer;
  }
  void logout() {
    command("LOGOUT");
    client_.close();
  }

 private:
  ScriptClient client_;
  int count_ = 0;
};

void ImapSessionTest::run_script(const std::filesystem::path& path) {
  std::ifstream file(path);
  ASSERT_TRUE(file) << path;
  auto finished = std::make_shared<std::promise<void>>();
  auto client = connect(finished);
  std::optional<OtherSession> other;
  auto other_finished = std::make_shared<std::promise<void>>();
  std::string pending;
  int number = 0;
  for (std::string line; std::getline(file, line);) {
    ++number;
    SCOPED_TRACE(path.filename().string() + ":" + std::to_string(number) + ": " + line);
    if (line.empty() || line[0] == '#') continue;
    if (line.starts_with("C: ")) {
      auto text = line.substr(3);
      if (auto at = text.find("$UIDVALIDITY"); at != std::string::npos) text.replace(at, 12, inbox_uid_validity());
      pending += text + "\r\n";
      continue;
    }
    if (!pending.empty()) client.send(std::exchange(pending, {}));
    if (line.starts_with("S: ") || line.starts_with("S~ ")) {
      auto got = client.line();
      ASSERT_TRUE(got) << "no answer: the connection closed, or nothing came within 10 s";
      if (line[1] == ':')
        EXPECT_EQ(*got, line.substr(3));
      else
        EXPECT_TRUE(std::regex_match(*got, std::regex(line.substr(3)))) << "got: " << *got;
    } else if (line.starts_with("other: ")) {
      if (!other) other.emplace(connect(other_finished));
      other->command(line.substr(7));
    } else if (line == "trim") {
      trim_change_log();
    } else if (line == "damage") {
      damage_first_message();
    } else if (line == "closed") {
      auto got = client.line();
      EXPECT_FALSE(got) << "still open; next line: " << *got;
    } else {
      FAIL() << "unknown script line";
    }
  }
  if (!pending.empty()) client.send(pending);
  EXPECT_EQ(client.unread(), "") << "lines the script did not expect";
  client.close();  // the session sees its client leave
  ASSERT_EQ(finished->get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
  if (other) {
    other->logout();
    ASSERT_EQ(other_finished->get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
  }
}

// Every command, literals included, split at every byte: the session reads it whole whatever
// the boundaries of what arrives (the reader at every split point).
class ImapSplitTest : public ImapSessionTest {};

TEST_F(ImapSplitTest, EveryCommandAtEverySplitPoint) {
  auto finished = std::make_shared<std::promise<void>>();
  auto client = connect(finished);
  ASSERT_TRUE(client.line());  // greeting
  client.send(fmt::format("l LOGIN alice@example.test \"{}\"\r\nx SELECT INBOX\r\n", kPassword));
  ASSERT_TRUE(tagged_answer(client, "l").starts_with("l OK"));
  ASSERT_TRUE(tagged_answer(client, "x").starts_with("x OK"));
  const std::vector<std::pair<std::string, std::string>> commands = {
      {"s1", "s1 APPEND INBOX (\\Seen) {11+}\r\nHello world\r\n"},
      {"s2", "s2 LIST \"\" {1+}\r\n*\r\n"},
      {"s3", "s3 UID FETCH 1:* (FLAGS)\r\n"},
      {"s4", "s4 SEARCH CHARSET UTF-8 BODY {5+}\r\nhello\r\n"},
      {"s5", "s5 APPEND INBOX {5}\r\nabcde\r\n"},  // synchronising: the + may come at any point
  };
  for (const auto& [tag, bytes] : commands) {
    for (std::size_t k = 1; k < bytes.size(); ++k) {
      SCOPED_TRACE(fmt::format("{} split at {}", tag, k));
      client.send(bytes.substr(0, k));
      std::this_thread::sleep_for(std::chrono::milliseconds(1));  // the session reads the first part alone
      client.send(bytes.substr(k));
      auto answer = tagged_answer(client, tag);
      EXPECT_TRUE(answer.starts_with(tag + " OK")) << answer;
    }
  }
  client.send("z LOGOUT\r\n");
  EXPECT_TRUE(tagged_answer(client, "z").starts_with("z OK"));
  client.close();
  ASSERT_EQ(finished->get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
}

TEST_P(ImapSessionTest, Script) {
  run_script(std::filesystem::path(MAILSTEAD_SOURCE_DIR) / "tests/unit/imap_scripts" / GetParam());
}

INSTANTIATE_TEST_SUITE_P(Scripts, ImapSessionTest, ::testing::ValuesIn(testing::script_names("imap_scripts")),
                         testing::script_test_name);

}  // namespace
}  // namespace mailstead
