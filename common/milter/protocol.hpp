#pragma once
// The Sendmail milter protocol, version 6, as Postfix speaks it to content filters (rspamd,
// spamass-milter, clamav-milter, OpenDKIM): packets built and read, a filter's replies
// understood, and the changes it asks for applied to a message. Pure: no sockets, fuzzed.
//
// Implementation notes
// - The protocol has no RFC; its reference is Sendmail's libmilter (include/libmilter/mfdef.h
//   and the milter documentation of Sendmail 8.14+), and Postfix's MILTER_README for what an
//   MTA other than Sendmail sends. Every packet is a 32-bit length in network order, counting
//   a command byte and its data.
// - Header values travel as Sendmail keeps them internally: folded lines end in LF alone, and
//   the value starts after the colon's following space (no SMFIP_HDR_LEADSPC). Changes a filter
//   sends come back the same way and are written with CRLF.
// - A filter is configured by the operator, but what it sends is bounded all the same: packets
//   (kMaxPacket), the number of header changes, the size of a replaced body and of the header.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace mailstead::milter {

inline constexpr std::uint32_t kVersion = 6;
// libmilter negotiates at most 1 MiB for a body chunk (SMFIP_MDS_1M); nothing larger is a packet.
inline constexpr std::size_t kMaxPacket = 1 << 20;
// A body is sent in chunks of at most this many bytes (MILTER_CHUNK_SIZE).
inline constexpr std::size_t kBodyChunk = 65535;

// What the MTA sends (SMFIC_*).
namespace command {
inline constexpr char kAbort = 'A';
inline constexpr char kBody = 'B';
inline constexpr char kConnect = 'C';
inline constexpr char kMacro = 'D';
inline constexpr char kEndOfBody = 'E';
inline constexpr char kHelo = 'H';
inline constexpr char kHeader = 'L';
inline constexpr char kMail = 'M';
inline constexpr char kEndOfHeader = 'N';
inline constexpr char kOptions = 'O';
inline constexpr char kQuit = 'Q';
inline constexpr char kRcpt = 'R';
inline constexpr char kData = 'T';
}  // namespace command

// What the MTA allows a filter to do (SMFIF_*).
namespace action {
inline constexpr std::uint32_t kAddHeaders = 0x01;
inline constexpr std::uint32_t kChangeBody = 0x02;
inline constexpr std::uint32_t kAddRecipient = 0x04;
inline constexpr std::uint32_t kDeleteRecipient = 0x08;
inline constexpr std::uint32_t kChangeHeaders = 0x10;
inline constexpr std::uint32_t kQuarantine = 0x20;
inline constexpr std::uint32_t kChangeFrom = 0x40;
inline constexpr std::uint32_t kSetMacros = 0x100;
}  // namespace action

// Steps a filter may leave out, and replies it may leave out (SMFIP_*).
namespace step {
inline constexpr std::uint32_t kNoConnect = 0x01;
inline constexpr std::uint32_t kNoHelo = 0x02;
inline constexpr std::uint32_t kNoMail = 0x04;
inline constexpr std::uint32_t kNoRcpt = 0x08;
inline constexpr std::uint32_t kNoBody = 0x10;
inline constexpr std::uint32_t kNoHeaders = 0x20;
inline constexpr std::uint32_t kNoEndOfHeader = 0x40;
inline constexpr std::uint32_t kNoReplyHeader = 0x80;
inline constexpr std::uint32_t kNoUnknown = 0x100;
inline constexpr std::uint32_t kNoData = 0x200;
inline constexpr std::uint32_t kSkip = 0x400;
inline constexpr std::uint32_t kNoReplyConnect = 0x1000;
inline constexpr std::uint32_t kNoReplyHelo = 0x2000;
inline constexpr std::uint32_t kNoReplyMail = 0x4000;
inline constexpr std::uint32_t kNoReplyRcpt = 0x8000;
inline constexpr std::uint32_t kNoReplyData = 0x10000;
inline constexpr std::uint32_t kNoReplyUnknown = 0x20000;
inline constexpr std::uint32_t kNoReplyEndOfHeader = 0x40000;
inline constexpr std::uint32_t kNoReplyBody = 0x80000;
}  // namespace step

// The stages a filter may ask for macros at (SMFIM_*), in the order of the options reply.
enum class Stage : std::uint32_t {
  connect = 0,
  helo = 1,
  mail = 2,
  rcpt = 3,
  data = 4,
  end_of_message = 5,
  end_of_header = 6
};
inline constexpr std::size_t kStages = 7;

using Macros = std::vector<std::pair<std::string, std::string>>;

// --- building packets ------------------------------------------------------------------------

std::string packet(char command, std::string_view data);
std::string options_packet(std::uint32_t version, std::uint32_t actions, std::uint32_t steps);
// The client's address: family '4' or '6' with its port, or 'U' (a local program) without.
struct Peer {
  char family = 'U';
  std::uint16_t port = 0;
  std::string address;
};
std::string connect_packet(std::string_view hostname, const Peer& peer);
std::string macro_packet(char for_command, const Macros& macros);
// HELO, MAIL, RCPT: NUL-terminated strings (the address in <>, then ESMTP parameters).
std::string strings_packet(char command, const std::vector<std::string>& strings);
std::string header_packet(std::string_view name, std::string_view value);

// --- reading packets -------------------------------------------------------------------------

struct Packet {
  char command = 0;
  std::string data;
};
struct NeedMore {};
struct BadPacket {
  std::string why;
};
// The first packet in `buffered`, and how many bytes it took; NeedMore when it is not all there.
struct Framed {
  Packet packet;
  std::size_t size = 0;
};
std::variant<Framed, NeedMore, BadPacket> frame(std::string_view buffered);

// --- a filter's replies ----------------------------------------------------------------------

struct Negotiated {  // SMFIC_OPTNEG answered
  std::uint32_t version = 0;
  std::uint32_t actions = 0;
  std::uint32_t steps = 0;
  // Macros the filter wants at each stage (space-separated names), when it said.
  std::vector<std::optional<std::vector<std::string>>> macros =
      std::vector<std::optional<std::vector<std::string>>>(kStages);
};

enum class Decision { accept, proceed, reject, tempfail, discard, skip };
struct Verdict {
  Decision decision = Decision::proceed;
};
// SMFIR_REPLYCODE: a reply of the filter's own, 4xx or 5xx (possibly several lines).
struct CustomReply {
  unsigned code = 0;
  std::string enhanced;  // "5.7.1", or empty
  std::vector<std::string> lines;
};
struct AddHeader {
  std::string name, value;
};
struct InsertHeader {
  std::uint32_t index = 0;  // 0: above every field
  std::string name, value;
};
struct ChangeHeader {
  std::uint32_t index = 0;  // the index-th field of that name, from 1; an empty value removes it
  std::string name, value;
};
struct ReplaceBody {
  std::string chunk;
};
struct Quarantine {
  std::string reason;
};
struct Progress {};
// SMFIR_ADDRCPT / SMFIR_DELRCPT: an envelope recipient ("<a@b>" or "a@b") added or removed.
struct AddRecipient {
  std::string address;
};
struct DeleteRecipient {
  std::string address;
};
// Asked for although not offered (the sender, recipients with parameters, macro lists): the
// filter does not fit us.
struct Unsupported {
  char command = 0;
};

using Reply = std::variant<Negotiated, Verdict, CustomReply, AddHeader, InsertHeader, ChangeHeader, ReplaceBody,
                           Quarantine, Progress, AddRecipient, DeleteRecipient, Unsupported>;
std::variant<Reply, BadPacket> parse_reply(const Packet& packet);

// --- the message -----------------------------------------------------------------------------

// The header fields as a filter is given them: name, and value with folds ending in LF alone.
std::vector<std::pair<std::string_view, std::string>> header_fields(std::string_view header_block);

// What the filters asked to change at the end of a message, in the order they asked.
struct Edits {
  std::vector<std::variant<AddHeader, InsertHeader, ChangeHeader>> header;
  std::optional<std::string> body;            // the replacement body, as sent (CRLF or LF)
  std::vector<std::string> added_recipients;  // as sent, "<a@b>" or "a@b"
  std::vector<std::string> deleted_recipients;
  bool empty() const { return header.empty() && !body; }
};
struct EditLimits {
  std::size_t max_header_size = 0;
  std::size_t max_message_size = 0;
};
struct EditError {
  std::string why;
};
// The message with the edits made; an error says which edit cannot be made (a name that is not
// a field name, a value that would start a field of its own, a result past the limits).
std::variant<std::string, EditError> apply(std::string_view message, const Edits& edits, const EditLimits& limits);

// True when a header field value as a filter sends it (LF folds) may be written into a message.
bool valid_field_name(std::string_view name);

}  // namespace mailstead::milter
