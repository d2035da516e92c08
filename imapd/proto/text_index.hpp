#pragma once
// The text index of a mailbox, which lets SEARCH BODY, TEXT, FROM, TO, CC, BCC, SUBJECT (and
// HEADER of a few fields) pass over messages that cannot match without reading them.
//
// IMAP compares substrings (RFC 9051 §6.4.4), so a word index would miss "ello" in "hello";
// what the index keeps is which byte trigrams each message's searched texts hold, in the form
// the matcher compares them (search.hpp: the same functions read the message for both).
// Every trigram of a needle that is a substring of a text is a trigram of that text, so a
// message lacking one of the needle's trigrams cannot match: the index only ever excludes,
// the matcher still decides for the rest, and the answers are the scan's, exactly.
//
// Layout: bit-sliced signatures, as signature files and BitFunnel keep them. Each trigram of a
// message (hashed with where it was found: body, header, a field) sets kProbes bits of a
// bitmap of B buckets, a Bloom filter; up to 64 messages make a segment, stored bucket by
// bucket, so that word b holds bucket b of every message in it. A needle with t trigrams reads
// t × kProbes words of each segment and ANDs them: the messages left are the candidates. A
// segment's B is chosen for its messages (eight buckets per distinct trigram: a trigram a
// message lacks then passes for present about 3% of the time, and a needle's rare trigrams
// together hardly ever do), so the index costs about a byte per distinct trigram of a message
// whatever the text (base64 signatures and message ids included, which would swell a
// dictionary of trigrams), and a segment is written once, when its 64 messages are there,
// instead of a posting list being touched per trigram per delivery.
//
// Everything here is pure: storage keeps the segments as opaque bytes (storage/text_index.hpp),
// imapd's indexer makes them and SEARCH reads them.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/mime/mime.hpp"
#include "imapd/proto/search.hpp"
#include "imapd/proto/search_key.hpp"

namespace mailstead::imap::text_index {

// What segments hold: raised whenever that changes (the texts read, their folding, the hash,
// the layout), so that indexes made before are neither used nor kept but made again.
inline constexpr std::uint32_t kVersion = 1;
inline constexpr unsigned kMaxDocuments = 64;           // per segment: one machine word per bucket
inline constexpr unsigned kProbes = 3;                  // bits per trigram
inline constexpr std::uint32_t kFineBuckets = 1 << 16;  // documents are gathered at this resolution
inline constexpr std::uint32_t kMinBuckets = 1024;      // a segment's B: a multiple of 64 between these
inline constexpr std::uint32_t kMaxBuckets = kFineBuckets;
inline constexpr std::size_t kMaxProbeGrams = 32;  // trigrams of a needle that are looked up

// Where a text was found. A HEADER key reads the source of its field, and only fields with a
// source of their own can be answered from the index; TEXT reads the header and the body.
enum class Source : std::uint8_t {
  body = 1,
  header = 2,  // the whole header block, as TEXT compares it
  from,
  to,
  cc,
  bcc,
  subject,
  message_id,
  reply_to,
  sender,
  list_id,
  in_reply_to,
};
std::optional<Source> field_source(std::string_view field_name);

// One message's trigrams, gathered at the finest resolution before a segment folds them to
// its own.
class Document {
 public:
  Document();
  // Adds the trigrams of `text` as the matcher compares it: ASCII letters lower-cased (how an
  // ASCII needle is compared), and for text that is not ASCII, also every letter lower-cased
  // (how any other needle is).
  void add_text(Source source, std::string_view text);
  // The message could not be read: it may match anything.
  void saturate() { saturated_ = true; }
  bool saturated() const { return saturated_; }
  // About how many distinct trigrams it has (from how many of its buckets are set).
  std::size_t weight() const;
  bool test(std::uint32_t fine_bucket) const { return (bits_[fine_bucket >> 6] >> (fine_bucket & 63)) & 1; }
  const std::vector<std::uint64_t>& bits() const { return bits_; }

 private:
  void add_gram(std::uint32_t gram);
  std::vector<std::uint64_t> bits_;
  bool saturated_ = false;
};

// Every text the substring keys compare, with where it was found: the header block, each top-level field that
// has a source of its own (address fields also as their addresses), and the body texts.
void add_message(Document& doc, const std::vector<std::pair<std::string_view, std::string_view>>& fields,
                 const mime::Part& structure, std::string_view bytes);

// A segment being written. Segments are written whole, once: the indexer waits until a mailbox
// has kMaxDocuments messages above its index (a search reads those few itself), so that each
// segment is sized for its own messages and never rewritten.
class SegmentWriter {
 public:
  // `buckets`: a multiple of 64 from kMinBuckets to kMaxBuckets.
  explicit SegmentWriter(std::uint32_t buckets);
  // What suits these messages: eight buckets per distinct trigram of the message at the third
  // quartile (a smaller message then takes fewer than its share, a larger one more: its false
  // candidates are more, but they are a quarter of the messages).
  static std::uint32_t buckets_for(const std::vector<const Document*>& docs);

  bool full() const { return uids_.size() >= kMaxDocuments; }
  void add(std::uint32_t uid, const Document& doc);
  std::uint32_t first_uid() const { return uids_.front(); }
  std::size_t size() const { return uids_.size(); }
  std::string encode() const;

 private:
  std::vector<std::uint32_t> uids_;
  std::vector<std::uint64_t> words_;  // B of them
};

// A stored segment, read in place.
class Segment {
 public:
  // Nullopt if the bytes are not a well-formed segment (a search then reads those messages).
  static std::optional<Segment> parse(std::string_view bytes);
  const std::vector<std::uint32_t>& uids() const { return uids_; }
  std::uint32_t buckets() const { return buckets_; }
  std::uint64_t word(std::uint32_t bucket) const;

 private:
  std::uint32_t buckets_ = 0;
  unsigned width_ = 0;  // bytes per stored word: as few as the segment's messages need
  std::vector<std::uint32_t> uids_;
  std::string_view words_;
};

// The index's side of one SEARCH: a probe for every substring key it can answer.
class SearchFilter : public TextKeyFilter {
 public:
  // `criteria` went through prepare_search (its strings are folded) and outlives this.
  explicit SearchFilter(const SearchKey& criteria);
  bool empty() const { return probes_.empty(); }

  // The segment the next messages are in: each probe's candidates in it.
  void enter(const Segment& segment);
  // The message at `position` of the entered segment.
  void at(std::size_t position) { position_ = position; }
  bool may_match(const SearchKey& key) const override;

 private:
  struct Probe {
    const SearchKey* key;
    std::vector<Source> sources;       // a trigram may be in any of them
    std::vector<std::uint16_t> fine;   // per trigram, for each source, its kProbes buckets
    std::uint64_t candidates = ~0ULL;  // in the entered segment
  };
  void collect(const SearchKey& key);
  std::vector<Probe> probes_;
  std::size_t position_ = 0;
};

// A mailbox's segments walked beside its messages, both in UID order: positions the filter at
// each message the index has reached.
class SegmentCursor {
 public:
  struct Stored {
    std::uint32_t first;     // its first UID
    std::string_view bytes;  // as stored
  };
  // `through`: every message up to this UID is in the segments.
  SegmentCursor(SearchFilter& filter, std::vector<Stored> segments, std::uint32_t through);
  // The filter, positioned at `uid`; null if the index cannot answer for it (not reached yet,
  // or in a segment that does not read). UIDs must come in ascending order.
  const TextKeyFilter* at(std::uint32_t uid);

 private:
  SearchFilter& filter_;
  std::vector<Stored> segments_;
  std::uint32_t through_;
  std::size_t next_ = 0;  // the first segment not entered yet
  std::optional<Segment> current_;
  std::size_t position_ = 0;  // in current_
};

}  // namespace mailstead::imap::text_index
