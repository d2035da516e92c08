#include "storage/import_ledger.hpp"

#include <vector>

#include "storage/detail/codec.hpp"
#include "storage/detail/lmdb.hpp"

namespace mailstead::storage {
namespace {

std::string ledger_key(MailboxId mailbox, std::string_view source_key) {
  auto key = codec::key_u32(mailbox);
  key += source_key;
  return key;
}

}  // namespace

std::optional<Uid> imported_as(const ReadTxn& txn, MailboxId mailbox, std::string_view source_key) {
  auto value = txn.state().get(txn.state().dbs().imports, ledger_key(mailbox, source_key));
  if (!value) return std::nullopt;
  return codec::get_u32be(*value);
}

void record_import(WriteTxn& txn, MailboxId mailbox, std::string_view source_key, Uid uid) {
  txn.state().put(txn.state().dbs().imports, ledger_key(mailbox, source_key), codec::key_u32(uid));
}

void forget_imports(WriteTxn& txn, MailboxId mailbox) {
  auto& t = txn.state();
  std::vector<std::string> keys;
  t.scan(t.dbs().imports, codec::key_u32(mailbox), [&](std::string_view key, std::string_view) {
    keys.emplace_back(key);
    return true;
  });
  for (const auto& k : keys) t.erase(t.dbs().imports, k);
}

}  // namespace mailstead::storage
