#pragma once
// Internal to storage/: the reference-counted blob store that messages and queue entries share.

#include <string_view>

#include "storage/detail/lmdb.hpp"
#include "storage/messages.hpp"

namespace mailstead::storage::detail {

BlobId hash_blob(std::string_view bytes);
// One more reference to the blob; its bytes are stored with the first.
void reference_blob(TxnState& t, const BlobId& id, std::string_view bytes);
// One reference fewer; the bytes go with the last.
void release_blob(TxnState& t, const BlobId& id);

// Format 1 kept one structure record per blob (in `blob_meta`, keyed by content hash); format
// 2 keeps one per message. Copies each message's structure to its own key.
void move_structures_to_messages(TxnState& t, MDB_dbi blob_meta);

}  // namespace mailstead::storage::detail
