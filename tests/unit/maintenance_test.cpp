// StoreMaintenance (session): started as smtpd starts it, it trims what its notes say
// is older than storage.change_log_retention, and stops promptly.
#include "session/maintenance.hpp"

#include <gtest/gtest.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/config/config.hpp"
#include "storage/accounts.hpp"
#include "storage/changes.hpp"
#include "storage/messages.hpp"
#include "tests/unit/script_client.hpp"
#include "tests/unit/storage_fixture.hpp"

namespace mailstead {
namespace {

using storage::testing::ok;

class StoreMaintenanceTest : public storage::testing::StoreTest {};

TEST_F(StoreMaintenanceTest, TrimsWhatIsOlderThanTheRetentionAndStops) {
  auto config = testing::test_config(dir_, "[storage]\nchange_log_retention = \"30d\"\n");
  ASSERT_TRUE(config);
  ok(store().update([](storage::WriteTxn& t) -> storage::Result<void> {
    ok(storage::add_domain(t, "example.test"));
    auto alice = ok(storage::add_user(t, "alice@example.test", "h", {}));
    for (int i = 0; i < 3; ++i)
      ok(storage::deliver_message(t, storage::prepare_message("Subject: x\r\n\r\nx\r\n"), {alice.id})[0].result);
    // What the maintenance of 31 days ago would have noted: everything so far.
    storage::trim_change_log(t, std::time(nullptr) - 31 * 86400, 30 * 86400, 0);
    return {};
  }));
  const auto noted = storage::last_modseq(store().read());
  ASSERT_FALSE(storage::changes_since(store().read(), 0).empty());

  storage::GroupCommitter committer(store());
  net::PasswordPool passwords(1);
  net::asio::io_context io;
  session::StoreMaintenance maintenance(session::Services{*config, store(), committer, passwords}, io);
  maintenance.start();
  std::thread runner([&io] { io.run(); });
  for (int i = 0; i < 500 && storage::change_log_floor(store().read()) == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(storage::change_log_floor(store().read()), noted);
  EXPECT_TRUE(storage::changes_since(store().read(), 0).empty());
  maintenance.stop();  // io.run() returns only once its hourly wait is over
  runner.join();
}

}  // namespace
}  // namespace mailstead
