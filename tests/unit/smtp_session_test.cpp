// The SMTP session (smtpd/session.cpp) driven by scripts of client lines and expected replies
// (tests/unit/smtp_scripts/*.txt), in process: the session runs on a real Connection over a
// socketpair, with a store in a temporary directory, and no network at all.
//
// Script lines:
//   port: mx | submission | local    which listener the session serves (first line)
//   C: text          a line (CRLF added; "C:" alone is an empty line); consecutive C:/R: lines
//                    go out in one write (pipelining)
//   R: bytes         raw bytes, no CRLF added; escapes \r \n \0 \\ and \xHH
//   S: line          the next reply line, exactly
//   S~ prefix        the next reply line starts with prefix
//   closed           the server has closed the connection
//   stored N         alice@example.test's INBOX holds N messages
//   # ...            a comment

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/local/connect_pair.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include "common/config/config.hpp"
#include "common/net/connection.hpp"
#include "smtpd/session.hpp"
#include "storage/accounts.hpp"
#include "storage/group_commit.hpp"
#include "storage/mailboxes.hpp"
#include "tests/unit/script_client.hpp"
#include "tests/unit/storage_fixture.hpp"

namespace mailstead {
namespace {

namespace asio = net::asio;
using storage::testing::ok;

using testing::ScriptClient;
using testing::unescape;

net::awaitable<void> serve(std::shared_ptr<net::Connection> connection, const smtp::SmtpContext& context,
                           smtp::Port port) {
  co_await smtp::serve_smtp(*connection, context, port);
  connection->close();
}

class SmtpSessionTest : public storage::testing::StoreTest, public ::testing::WithParamInterface<std::string> {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    config_ = testing::test_config(
        dir_,
        "[smtpd]\nlisten = []\nsubmission_listen = []\nsubmissions_listen = []\nmax_recipients = 3\n"
        "max_message_size = \"64K\"\nmax_errors = 10\nmax_line_length = 512\nmax_junk_commands = 8\n"
        "[auth]\nfailure_delay = \"0s\"\n");
    ASSERT_TRUE(config_);
    ok(store().update([](storage::WriteTxn& t) -> storage::Result<void> {
      ok(storage::add_domain(t, "example.test"));
      ok(storage::add_user(t, "alice@example.test", "$y$unused", {}));
      return {};
    }));
    committer_ = std::make_unique<storage::GroupCommitter>(store());
    passwords_ = std::make_unique<net::PasswordPool>(1);
    context_ = std::make_unique<smtp::SmtpContext>(smtp::SmtpContext{
        session::Services{*config_, store(), *committer_, *passwords_}, {}, [] {}, nullptr, nullptr, ""});
    io_thread_ = std::thread([this] { io_.run(); });
  }

  void TearDown() override {
    // A script that failed half-way leaves its session waiting for input: end it.
    if (connection_) asio::post(io_, [c = connection_] { c->close(); });
    work_.reset();
    io_thread_.join();
    connection_.reset();  // its timer belongs to io_, which goes first
    context_.reset();
    passwords_.reset();
    committer_.reset();
    StoreTest::TearDown();
  }

  std::uint64_t inbox_size() {
    auto txn = store().read();
    auto user = storage::find_user(txn, "alice@example.test");
    return user ? storage::find_mailbox(txn, user->id, "INBOX")->messages : 0;
  }

  void run_script(const std::filesystem::path& path);

  std::unique_ptr<config::Config> config_;
  std::unique_ptr<storage::GroupCommitter> committer_;
  std::unique_ptr<net::PasswordPool> passwords_;
  std::unique_ptr<smtp::SmtpContext> context_;
  std::shared_ptr<net::Connection> connection_;
  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_{io_.get_executor()};
  std::thread io_thread_;
};

void SmtpSessionTest::run_script(const std::filesystem::path& path) {
  std::ifstream file(path);
  ASSERT_TRUE(file) << path;
  std::string header;
  std::getline(file, header);
  ASSERT_TRUE(header.starts_with("port: ")) << "the first line names the port";
  auto name = header.substr(6);
  smtp::Port port = name == "mx" ? smtp::Port::mx : name == "submission" ? smtp::Port::submission : smtp::Port::local;

  asio::local::stream_protocol::socket server_end(io_), client_end(io_);
  asio::local::connect_pair(server_end, client_end);
  connection_ = std::make_shared<net::Connection>(net::StreamSocket(std::move(server_end)), nullptr, "script",
                                                  config_->smtpd.max_line_length);
  auto finished = std::make_shared<std::promise<void>>();
  asio::co_spawn(io_, serve(connection_, *context_, port),
                 [finished](const std::exception_ptr&) { finished->set_value(); });
  ScriptClient client(std::move(client_end));

  std::string pending;
  int number = 1;
  for (std::string line; std::getline(file, line);) {
    ++number;
    SCOPED_TRACE(path.filename().string() + ":" + std::to_string(number) + ": " + line);
    if (line.empty() || line[0] == '#') continue;
    if (line == "C:" || line.starts_with("C: ")) {
      pending += line.substr(std::min<std::size_t>(3, line.size())) + "\r\n";
      continue;
    }
    if (line.starts_with("R: ")) {
      pending += unescape(line.substr(3));
      continue;
    }
    if (!pending.empty()) client.send(std::exchange(pending, {}));
    if (line.starts_with("S: ") || line.starts_with("S~ ")) {
      auto got = client.line();
      ASSERT_TRUE(got) << "no reply: the connection closed, or nothing came within 10 s";
      if (line[1] == ':') {
        EXPECT_EQ(*got, line.substr(3));
      } else {
        EXPECT_TRUE(got->starts_with(line.substr(3))) << "got: " << *got;
      }
    } else if (line == "closed") {
      auto got = client.line();
      EXPECT_FALSE(got) << "still open; next line: " << *got;
    } else if (line.starts_with("stored ")) {
      EXPECT_EQ(inbox_size(), std::stoull(line.substr(7)));
    } else {
      FAIL() << "unknown script line";
    }
  }
  if (!pending.empty()) client.send(pending);
  EXPECT_EQ(client.unread(), "") << "replies the script did not expect";
  client.close();  // the session sees its client leave
  ASSERT_EQ(finished->get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
}

TEST_P(SmtpSessionTest, Script) {
  run_script(std::filesystem::path(MAILSTEAD_SOURCE_DIR) / "tests/unit/smtp_scripts" / GetParam());
}

INSTANTIATE_TEST_SUITE_P(Scripts, SmtpSessionTest, ::testing::ValuesIn(testing::script_names("smtp_scripts")),
                         testing::script_test_name);

}  // namespace
}  // namespace mailstead
