#include "storage/secrets.hpp"

#include "storage/detail/lmdb.hpp"

namespace mailstead::storage {

std::string server_secret(WriteTxn& txn, std::string_view name, std::string_view candidate) {
  auto& t = txn.state();
  auto key = "secret:" + std::string(name);
  if (auto stored = t.get(t.dbs().meta, key)) return std::string(*stored);
  t.put(t.dbs().meta, key, candidate);
  return std::string(candidate);
}

}  // namespace mailstead::storage
