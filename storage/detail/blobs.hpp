#pragma once
// Internal to storage/: the reference-counted blob store that messages and queue entries share.

#include <string_view>

#include "storage/detail/lmdb.hpp"
#include "storage/messages.hpp"

namespace mailstead::storage::detail {

BlobId hash_blob(std::string_view bytes);
// One more reference to the blob; its bytes and structure are stored with the first.
void reference_blob(TxnState& t, const BlobId& id, std::string_view bytes);
// One reference fewer; bytes and structure go with the last.
void release_blob(TxnState& t, const BlobId& id);

}  // namespace mailstead::storage::detail
