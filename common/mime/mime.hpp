#pragma once
// RFC 5322 / MIME structure of a message, computed once when it is stored so that IMAP FETCH
// of ENVELOPE, BODYSTRUCTURE, BODY[HEADER], BODY[1.2.MIME] and friends never parses again.
//
// Contract
// - parse_message() is a pure function over the message bytes; it never fails and never
//   reads outside them. Malformed mail still gets a structure: a header line without a colon
//   is skipped; a multipart without a boundary, or nested deeper than Limits::max_depth, is a
//   single text/plain part; a missing closing boundary ends the last part at the end of its
//   parent.
// - Its cost is bounded by Limits (limits.hpp), never by what the sender wrote: header fields
//   past max_header_fields, or past max_header_size bytes of their block, are not indexed
//   (their bytes are still part of the message); once max_parts parts have been made or the
//   structure has grown past max_structure_size, the rest of the enclosing multipart is one
//   opaque application/octet-stream part. The bytes themselves are never changed: the
//   message is stored and fetched byte-exact, only its index is summarised (as Dovecot and
//   Cyrus do).
// - Offsets are into the bytes given. A part's header block includes its blank separator
//   line (what IMAP's BODY[n.MIME] and BODY[HEADER] return); a body excludes the CRLF before
//   the next boundary (RFC 2046 §5.1.1).
// - Values are kept as written (folding removed, encoded words not decoded): IMAP returns
//   them that way, and SEARCH decodes them itself.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/mime/limits.hpp"

namespace mailstead::mime {

struct Span {
  std::size_t offset = 0;
  std::size_t length = 0;
  std::string_view of(std::string_view bytes) const { return bytes.substr(offset, length); }
  friend bool operator==(const Span&, const Span&) = default;
};

struct HeaderField {
  std::string name;   // as written
  std::string value;  // unfolded, leading whitespace removed, as written otherwise
};

// One address of an address list (RFC 3501 ENVELOPE address: name, adl, mailbox, host). A
// group is a start marker (host empty, mailbox = group name) and an end marker (both empty).
struct Address {
  std::string name;
  std::string route;
  std::string mailbox;
  std::string host;
  bool group_start() const { return host.empty() && !mailbox.empty(); }
  bool group_end() const { return host.empty() && mailbox.empty(); }
  friend bool operator==(const Address&, const Address&) = default;
};

struct Envelope {
  std::optional<std::string> date, subject, in_reply_to, message_id;
  std::vector<Address> from, sender, reply_to, to, cc, bcc;  // sender/reply_to default to from
};

using Parameters = std::vector<std::pair<std::string, std::string>>;

struct Part {
  Span header;  // including the blank line that ends it (if there is one)
  Span body;
  std::vector<HeaderField> fields;
  std::string type = "text";  // lower-case
  std::string subtype = "plain";
  Parameters parameters;  // names lower-case, values unquoted
  std::optional<std::string> id, description, md5, location;
  std::string encoding = "7bit";           // lower-case
  std::optional<std::string> disposition;  // lower-case
  Parameters disposition_parameters;
  std::vector<std::string> language;
  std::uint64_t body_lines = 0;      // text/* and message/rfc822
  std::vector<Part> children;        // multipart: the parts; message/rfc822: one, the message
  std::optional<Envelope> envelope;  // the top level and message/rfc822 parts

  bool is_multipart() const { return type == "multipart"; }
  bool is_message() const { return type == "message" && (subtype == "rfc822" || subtype == "global"); }
};

// What one parse made, for logs and tests.
struct ParseStats {
  std::size_t parts = 0;           // parts indexed, the message included
  std::size_t structure_size = 0;  // the estimate Limits::max_structure_size bounds
  bool summarised = false;         // a limit was reached: part of the structure is opaque
};

Part parse_message(std::string_view bytes, const Limits& limits = {}, ParseStats* stats = nullptr);

// The fields of a header block one at a time, without allocating: what the checks of every
// field (From binding, loop counts) use, since they must see all of them whatever the count.
// A line without a colon is skipped with its continuation lines.
class FieldReader {
 public:
  explicit FieldReader(std::string_view header_block) : block_(header_block) {}
  // The next field: its name as written, and its value from the first non-blank character to
  // the end of its last line, folding line ends kept (unfold() removes them). False at the
  // blank line or the end of the block.
  bool next(std::string_view& name, std::string_view& value);
  std::size_t offset() const { return at_; }  // where the next field starts

 private:
  std::string_view block_;
  std::size_t at_ = 0;
};

// A folded value as one line (RFC 5322 §2.2.3: unfolding removes the CRLF of each fold).
std::string unfold(std::string_view value);

// Header parsing on its own, for the header index and HEADER.FIELDS: at most
// limits.max_header_fields fields from the first limits.max_header_size bytes.
std::vector<HeaderField> parse_header_fields(std::string_view header_block, const Limits& limits = {});
// "text/html; charset=utf-8" -> type, subtype, parameters.
void parse_content_type(std::string_view value, std::string& type, std::string& subtype, Parameters& parameters);
// RFC 5322 address-list (lenient: comments, obsolete routes, groups, unquoted junk).
std::vector<Address> parse_address_list(std::string_view value);

// The msg-ids of a Message-ID, In-Reply-To or References value ("<a@b> <c@d>"), each with its
// angle brackets, in order; junk between them and ids holding white space are skipped. Views
// into `value`.
std::vector<std::string_view> message_ids(std::string_view value);

// Where the header block ends: the offset after the blank line, or the end of the bytes.
std::size_t header_end(std::string_view bytes);

}  // namespace mailstead::mime
