#pragma once
// Which source messages an import has already stored, so that an interrupted import run again
// continues where it stopped without storing anything twice. Entries are written in the same
// transaction as the messages they describe. Key: mailbox id + the importer's name for the
// source message (a Maildir file's unique part, an mbox path and offset).

#include <optional>
#include <string_view>

#include "storage/mailboxes.hpp"
#include "storage/messages.hpp"
#include "storage/store.hpp"

namespace mailstead::storage {

std::optional<Uid> imported_as(const ReadTxn& txn, MailboxId mailbox, std::string_view source_key);
void record_import(WriteTxn& txn, MailboxId mailbox, std::string_view source_key, Uid uid);
// Forgets a mailbox's entries (when the mailbox is deleted).
void forget_imports(WriteTxn& txn, MailboxId mailbox);

}  // namespace mailstead::storage
