#pragma once
// Evaluating SEARCH criteria (search_key.hpp) on one message at a time. Flags, sizes, dates
// and UIDs come from the message's facts; header and body keys need the message's bytes and
// structure, which the caller's loader provides only when a key asks for them, so a search
// on flags never touches a message's content.
//
// Text matching (RFC 9051 §6.4.4): substring, case-insensitive, on header values with their
// RFC 2047 encoded words decoded and on body text decoded from its transfer encoding and
// charset to UTF-8. Both sides are lower-cased by Unicode's mappings (the C library's
// tables), so "ŁÓDŹ" finds "łódź" and "ΣΟΦΊΑ" finds "σοφία".

#include <cstdint>
#include <functional>
#include <string_view>
#include <utility>
#include <vector>

#include "common/mime/mime.hpp"
#include "imapd/proto/message_facts.hpp"
#include "imapd/proto/search_key.hpp"

namespace mailstead::imap {

// What is known of a message's text without reading it: the text index (text_index.hpp) says
// which substring keys it cannot match. It never says "cannot" of a message that matches.
class TextKeyFilter {
 public:
  virtual ~TextKeyFilter() = default;
  virtual bool may_match(const SearchKey& key) const = 0;
};

struct SearchMessage {
  std::uint32_t seq = 0;
  MessageFacts facts;
  bool recent = false;
  const TextKeyFilter* index = nullptr;  // null: nothing is known; substring keys read the message
  // Filled by the loader on first need:
  std::vector<std::pair<std::string_view, std::string_view>> fields;  // top-level header
  const mime::Part* structure = nullptr;
  std::string_view bytes;
  bool fields_loaded = false;
  bool bytes_loaded = false;
  bool gone = false;
};

// What a key needs of a message: its header fields (header keys, SENT*), or its structure
// and bytes (BODY, TEXT).
enum class SearchNeed { fields, content };
// Fills what `need` says; false if the message is gone (it then matches nothing).
using SearchLoader = std::function<bool(SearchMessage&, SearchNeed need)>;

struct SearchScope {
  std::uint32_t largest_seq = 0;
  std::uint32_t largest_uid = 0;
  std::vector<std::uint32_t> saved_uids;  // "$", ascending
};

// SEARCH CHARSET: the key's strings from `charset` to UTF-8. False if the charset is unknown
// (BADCHARSET).
bool convert_search_strings(SearchKey& key, std::string_view charset);

// Resolves sequence sets against the mailbox once, before the messages are walked.
void prepare_search(SearchKey& key, const SearchScope& scope);
// A MODSEQ key is in the criteria: the answer carries the highest MODSEQ (RFC 7162 §3.1.5).
bool uses_modseq(const SearchKey& key);
// An EMAILID key is in the criteria: the caller fills MessageFacts::email_id.
bool uses_email_id(const SearchKey& key);
// Whether a flag change may change what the criteria match (flags, keywords, NEW, MODSEQ).
bool reads_flags(const SearchKey& key);
// RFC 5267 §4.3: sequence numbers in criteria kept up to date name the messages they named
// when the command came, whatever their numbers later: after prepare_search(), each sequence
// key becomes a UID key of those messages. `uid_at(n)` is the UID of message n <= exists.
void pin_sequence_numbers(SearchKey& key, std::uint32_t exists,
                          const std::function<std::uint32_t(std::uint32_t)>& uid_at);
// How many substring keys (header, BODY, TEXT) the criteria hold: each may read a whole message.
std::size_t count_text_keys(const SearchKey& key);
bool matches(const SearchKey& key, SearchMessage& message, const SearchScope& scope, const SearchLoader& load);

// The day (days since the epoch) of an RFC 5322 Date: value, as written (its time and zone
// disregarded, RFC 9051 SENTBEFORE); nullopt if unreadable.
std::optional<std::int64_t> sent_day(std::string_view date_value);

// Lower-cases every letter of UTF-8 text (bytes that are not UTF-8 stay as they are).
std::string fold_case(std::string_view text);

// Whether `haystack` holds `folded_needle` (which went through fold_case), letters compared
// without case. Linear in the haystack whatever either holds (a hostile needle such as
// "baaa…a" over "aaa…" included).
bool contains_folded(std::string_view haystack, std::string_view folded_needle);

// The texts substring keys compare, in the form they compare them; the matcher above and the
// text index read a message through these same functions, so that the index holds every text
// a key may find. A visitor returns true to stop; each function returns whether one did.
using TextVisitor = std::function<bool(std::string_view text)>;
// BODY (and TEXT after the header): each text part decoded from its transfer encoding and
// charset (as stored when it does not decode), and the header values of attached messages.
bool for_each_body_text(std::string_view bytes, const mime::Part& part, const TextVisitor& visit);
// A header value: with its RFC 2047 encoded words decoded if it has any, else as written.
bool with_searched_value(std::string_view value, const TextVisitor& visit);
// An address field (FROM, TO, CC, BCC) also read as its addresses: "Name <local@domain>, ...".
std::string plain_addresses(std::string_view value);

}  // namespace mailstead::imap
