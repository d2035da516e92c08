#include "storage/auth_failures.hpp"

#include <algorithm>

#include "storage/detail/codec.hpp"
#include "storage/detail/lmdb.hpp"

namespace mailstead::storage {
namespace {

constexpr std::uint8_t kFormat = 1;

AuthFailures decode(std::string_view bytes) {
  codec::Reader r(bytes, "auth failures");
  AuthFailures f;
  f.count = r.u32();
  f.window_start = static_cast<std::int64_t>(r.u64());
  f.locked_until = static_cast<std::int64_t>(r.u64());
  return f;
}

}  // namespace

AuthFailures auth_failures(const ReadTxn& txn, std::string_view client, std::int64_t now) {
  auto bytes = txn.state().get(txn.state().dbs().auth_failures, client);
  if (!bytes) return {};
  auto f = decode(*bytes);
  if (f.locked_until != 0 && f.locked_until <= now) f.locked_until = 0;
  return f;
}

AuthFailures record_auth_failure(WriteTxn& txn, std::string_view client, std::int64_t now,
                                 const LockoutPolicy& policy) {
  auto f = auth_failures(txn, client, now);
  if (f.count == 0 || now - f.window_start >= policy.window) {
    f.count = 0;
    f.window_start = now;
  }
  f.count += 1;
  if (policy.failures != 0 && f.count >= policy.failures) f.locked_until = now + policy.duration;
  txn.state().put(txn.state().dbs().auth_failures, client,
                  codec::Writer(kFormat)
                      .u64(f.count)
                      .u64(static_cast<std::uint64_t>(f.window_start))
                      .u64(static_cast<std::uint64_t>(f.locked_until))
                      .take());
  return f;
}

std::chrono::seconds failure_delay(std::uint32_t failures, std::chrono::seconds base, std::chrono::seconds max) {
  if (failures == 0 || base.count() == 0) return std::chrono::seconds(0);
  auto delay = base;
  for (std::uint32_t i = 1; i < failures && delay < max; ++i) delay *= 2;
  return std::min(delay, max);
}

}  // namespace mailstead::storage
