#include "imapd/stored_message.hpp"

#include "common/text/ascii.hpp"

namespace mailstead::imap {

bool StoredMessageSource::load(SearchMessage& message, SearchNeed need) {
  if (!message.fields_loaded && !message.bytes_loaded) ++read;
  if (need == SearchNeed::fields) {
    message.fields.clear();
    return storage::for_each_header_field(*txn, *record, [&message](std::string_view name, std::string_view value) {
      message.fields.emplace_back(name, value);
      return true;
    });
  }
  structure = storage::message_structure(*txn, *record);
  auto bytes = storage::read_blob(*txn, record->blob);
  if (!structure || !bytes) return false;
  message.structure = &*structure;
  message.bytes = *bytes;
  return true;
}

std::optional<SortMessage> sort_message_of(const storage::ReadTxn& txn, const storage::Message& record,
                                           bool references) {
  auto envelope = storage::message_envelope(txn, record);
  if (!envelope) return std::nullopt;
  SortMessage m;
  m.uid = record.uid;
  m.internal_date = record.internal_date;
  m.size = record.size;
  m.subject = std::move(envelope->subject);
  m.date = std::move(envelope->date);
  m.message_id = std::move(envelope->message_id);
  m.in_reply_to = std::move(envelope->in_reply_to);
  m.from = std::move(envelope->from);
  m.to = std::move(envelope->to);
  m.cc = std::move(envelope->cc);
  if (references)
    storage::for_each_header_field(txn, record, [&m](std::string_view name, std::string_view value) {
      if (!text::iequals_ascii(name, "References")) return true;
      m.references = std::string(value);
      return false;
    });
  trim_for_sorting(m);
  return m;
}

}  // namespace mailstead::imap
