#pragma once
// Byte layout of a message's MIME structure (common/mime), stored once per blob when the blob
// is first stored, so that FETCH ENVELOPE / BODYSTRUCTURE / BODY[section] never re-parse.

#include <string>
#include <string_view>

#include "common/mime/mime.hpp"

namespace mailstead::storage::codec {

std::string encode_structure(const mime::Part& part);
mime::Part decode_structure(std::string_view bytes);  // throws StorageError(corrupt)

}  // namespace mailstead::storage::codec
