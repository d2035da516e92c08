#include "imapd/proto/text_index.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>

#include "common/text/ascii.hpp"

namespace mailstead::imap::text_index {
namespace {

constexpr std::uint8_t kFormat = 1;
constexpr std::size_t kFoldPiece = 64 * 1024;

// A trigram and where it was found, as 32 bits.
std::uint32_t gram_of(Source source, unsigned char a, unsigned char b, unsigned char c) {
  return (std::uint32_t{static_cast<std::uint8_t>(source)} << 24) | (std::uint32_t{a} << 16) | (std::uint32_t{b} << 8) |
         c;
}

// Its kProbes buckets at the finest resolution: three 16-bit slices of a 64-bit mix
// (splitmix64's finaliser). A segment of B buckets maps fine bucket f to f * B / 2^16, so a
// document gathered once folds to any segment.
std::array<std::uint16_t, kProbes> fine_buckets(std::uint32_t gram) {
  std::uint64_t z = gram + 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  z ^= z >> 31;
  return {static_cast<std::uint16_t>(z >> 48), static_cast<std::uint16_t>(z >> 32),
          static_cast<std::uint16_t>(z >> 16)};
}

std::uint32_t coarse(std::uint32_t fine, std::uint32_t buckets) {
  return (fine * buckets) >> 16;
}

// Bytes a stored word takes: enough for the segment's messages.
unsigned width_for(std::size_t documents) {
  if (documents <= 8) return 1;
  if (documents <= 16) return 2;
  if (documents <= 32) return 4;
  return 8;
}

void put_varint(std::string& out, std::uint32_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}

std::optional<std::uint32_t> get_varint(std::string_view& in) {
  std::uint32_t v = 0;
  for (unsigned shift = 0; shift < 35 && !in.empty(); shift += 7) {
    auto byte = static_cast<unsigned char>(in.front());
    in.remove_prefix(1);
    if (shift == 28 && byte > 0x0F) return std::nullopt;
    v |= std::uint32_t{byte & 0x7Fu} << shift;
    if (!(byte & 0x80)) return v;
  }
  return std::nullopt;
}

}  // namespace

std::optional<Source> field_source(std::string_view name) {
  static constexpr std::pair<std::string_view, Source> kFields[] = {
      {"from", Source::from},
      {"to", Source::to},
      {"cc", Source::cc},
      {"bcc", Source::bcc},
      {"subject", Source::subject},
      {"message-id", Source::message_id},
      {"reply-to", Source::reply_to},
      {"sender", Source::sender},
      {"list-id", Source::list_id},
      {"in-reply-to", Source::in_reply_to},
  };
  for (auto [field, source] : kFields)
    if (text::iequals_ascii(name, field)) return source;
  return std::nullopt;
}

Document::Document() : bits_(kFineBuckets / 64, 0) {}

void Document::add_gram(std::uint32_t gram) {
  for (auto fine : fine_buckets(gram)) bits_[fine >> 6] |= std::uint64_t{1} << (fine & 63);
}

void Document::add_text(Source source, std::string_view text) {
  if (text.size() < 3) return;
  // An ASCII needle is compared with the text's ASCII letters lower-cased, the rest as written.
  for (std::size_t i = 0; i + 3 <= text.size(); ++i)
    add_gram(gram_of(source, static_cast<unsigned char>(text::ascii_lower(text[i])),
                     static_cast<unsigned char>(text::ascii_lower(text[i + 1])),
                     static_cast<unsigned char>(text::ascii_lower(text[i + 2]))));
  if (text::is_ascii(text)) return;
  // Any other needle, with every letter of the text lower-cased (which may change lengths).
  // Folded a piece at a time, so that a message's text is not held twice over: a piece ends
  // before a byte that cannot continue a character (folding is per character, so the pieces
  // fold to what the whole would), and keeps the last two bytes of the one before it.
  std::string folded;
  for (std::size_t at = 0; at < text.size();) {
    std::size_t end = std::min(text.size(), at + kFoldPiece);
    for (int step = 0; step < 3 && end < text.size() && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80; ++step)
      ++end;
    folded.erase(0, folded.size() >= 2 ? folded.size() - 2 : 0);
    folded += fold_case(text.substr(at, end - at));
    for (std::size_t i = 0; i + 3 <= folded.size(); ++i)
      add_gram(gram_of(source, static_cast<unsigned char>(folded[i]), static_cast<unsigned char>(folded[i + 1]),
                       static_cast<unsigned char>(folded[i + 2])));
    at = end;
  }
}

std::size_t Document::weight() const {
  if (saturated_) return kFineBuckets;
  std::size_t set = 0;
  for (auto w : bits_) set += static_cast<std::size_t>(std::popcount(w));
  if (set >= kFineBuckets) return kFineBuckets;
  // n items of kProbes bits each leave a fraction e^(-kProbes n / m) of m buckets clear.
  double clear = 1.0 - static_cast<double>(set) / kFineBuckets;
  return static_cast<std::size_t>(-std::log(clear) * kFineBuckets / kProbes + 0.5);
}

void add_message(Document& doc, const std::vector<std::pair<std::string_view, std::string_view>>& fields,
                 const mime::Part& structure, std::string_view bytes) {
  auto into = [&doc](Source source) {
    return [&doc, source](std::string_view text) {
      doc.add_text(source, text);
      return false;
    };
  };
  with_searched_value(structure.header.of(bytes), into(Source::header));
  for (const auto& [name, value] : fields) {
    auto source = field_source(name);
    if (!source) continue;
    with_searched_value(value, into(*source));
    if (*source == Source::from || *source == Source::to || *source == Source::cc || *source == Source::bcc)
      doc.add_text(*source, plain_addresses(value));
  }
  for_each_body_text(bytes, structure, into(Source::body));
}

SegmentWriter::SegmentWriter(std::uint32_t buckets) : words_(buckets, 0) {}

std::uint32_t SegmentWriter::buckets_for(const std::vector<const Document*>& docs) {
  if (docs.empty()) return kMinBuckets;
  std::vector<std::size_t> weights;
  weights.reserve(docs.size());
  for (const auto* doc : docs) weights.push_back(doc->saturated() ? 0 : doc->weight());
  auto quartile = weights.begin() + static_cast<std::ptrdiff_t>(weights.size() * 3 / 4);
  std::nth_element(weights.begin(), quartile, weights.end());
  auto wanted = (8 * *quartile + 63) / 64 * 64;
  return static_cast<std::uint32_t>(std::clamp<std::size_t>(wanted, kMinBuckets, kMaxBuckets));
}

void SegmentWriter::add(std::uint32_t uid, const Document& doc) {
  const auto column = std::uint64_t{1} << uids_.size();
  uids_.push_back(uid);
  if (doc.saturated()) {
    for (auto& w : words_) w |= column;
    return;
  }
  const auto buckets = static_cast<std::uint32_t>(words_.size());
  const auto& bits = doc.bits();
  for (std::size_t i = 0; i < bits.size(); ++i) {
    for (auto w = bits[i]; w != 0; w &= w - 1) {
      auto fine = static_cast<std::uint32_t>(i * 64 + static_cast<std::size_t>(std::countr_zero(w)));
      words_[coarse(fine, buckets)] |= column;
    }
  }
}

// format, B / 64 (LEB128), message count, UIDs (the first, then differences, LEB128), then
// one word per bucket, little-endian, of width_for(count) bytes.
std::string SegmentWriter::encode() const {
  std::string out;
  const unsigned width = width_for(uids_.size());
  out.reserve(4 + 5 * uids_.size() + words_.size() * width);
  out += static_cast<char>(kFormat);
  put_varint(out, static_cast<std::uint32_t>(words_.size() / 64));
  out += static_cast<char>(uids_.size());
  std::uint32_t previous = 0;
  for (auto uid : uids_) {
    put_varint(out, uid - previous);
    previous = uid;
  }
  for (auto w : words_)
    for (unsigned b = 0; b < width; ++b) out += static_cast<char>((w >> (8 * b)) & 0xFF);
  return out;
}

std::optional<Segment> Segment::parse(std::string_view bytes) {
  if (bytes.empty() || static_cast<std::uint8_t>(bytes[0]) != kFormat) return std::nullopt;
  bytes.remove_prefix(1);
  Segment s;
  auto sixty_fourths = get_varint(bytes);
  if (!sixty_fourths || *sixty_fourths < kMinBuckets / 64 || *sixty_fourths > kMaxBuckets / 64 || bytes.empty())
    return std::nullopt;
  s.buckets_ = *sixty_fourths * 64;
  const std::size_t count = static_cast<std::uint8_t>(bytes[0]);
  if (count == 0 || count > kMaxDocuments) return std::nullopt;
  bytes.remove_prefix(1);
  s.uids_.reserve(count);
  std::uint32_t uid = 0;
  for (std::size_t i = 0; i < count; ++i) {
    auto delta = get_varint(bytes);
    if (!delta || (i > 0 && *delta == 0) || *delta > UINT32_MAX - uid) return std::nullopt;
    uid += *delta;
    if (uid == 0) return std::nullopt;
    s.uids_.push_back(uid);
  }
  s.width_ = width_for(count);
  if (bytes.size() != std::size_t{s.buckets_} * s.width_) return std::nullopt;
  s.words_ = bytes;
  return s;
}

std::uint64_t Segment::word(std::uint32_t bucket) const {
  std::uint64_t w = 0;
  const char* p = words_.data() + std::size_t{bucket} * width_;
  for (unsigned b = 0; b < width_; ++b) w |= std::uint64_t{static_cast<unsigned char>(p[b])} << (8 * b);
  return w;
}

SearchFilter::SearchFilter(const SearchKey& criteria) {
  collect(criteria);
}

void SearchFilter::collect(const SearchKey& key) {
  using K = SearchKey::Kind;
  for (const auto& child : key.children) collect(child);
  // A needle shorter than a trigram, or an empty one (a HEADER key that asks whether the
  // field is there), narrows nothing.
  if (key.value.size() < 3) return;
  Probe probe{&key, {}, {}};
  if (key.kind == K::body) {
    probe.sources = {Source::body};
  } else if (key.kind == K::text) {
    probe.sources = {Source::header, Source::body};
  } else if (key.kind == K::header) {
    auto source = field_source(key.field);
    if (!source) return;
    probe.sources = {*source};
  } else {
    return;
  }
  // Any of a needle's trigrams may rule a message out, so a few of them are enough: the
  // first kMaxProbeGrams different ones (a needle of a megabyte costs no more than one of a
  // line).
  const auto& v = key.value;
  std::vector<std::uint32_t> seen;
  for (std::size_t i = 0; i + 3 <= v.size() && seen.size() < kMaxProbeGrams; ++i) {
    auto gram = gram_of(Source{}, static_cast<unsigned char>(v[i]), static_cast<unsigned char>(v[i + 1]),
                        static_cast<unsigned char>(v[i + 2]));
    if (std::find(seen.begin(), seen.end(), gram) != seen.end()) continue;
    seen.push_back(gram);
    for (auto source : probe.sources)
      for (auto fine : fine_buckets(gram | gram_of(source, 0, 0, 0))) probe.fine.push_back(fine);
  }
  probes_.push_back(std::move(probe));
}

void SearchFilter::enter(const Segment& segment) {
  const auto buckets = segment.buckets();
  for (auto& probe : probes_) {
    // Per trigram, for each source, its buckets: present in a source if all are set there.
    const std::size_t per_source = kProbes, per_gram = per_source * probe.sources.size();
    std::uint64_t candidates = ~0ULL;
    for (std::size_t g = 0; g + per_gram <= probe.fine.size() && candidates != 0; g += per_gram) {
      std::uint64_t any = 0;
      for (std::size_t s = g; s < g + per_gram; s += per_source) {
        std::uint64_t all = ~0ULL;
        for (std::size_t p = s; p < s + per_source; ++p) all &= segment.word(coarse(probe.fine[p], buckets));
        any |= all;
      }
      candidates &= any;
    }
    probe.candidates = candidates;
  }
  position_ = 0;
}

bool SearchFilter::may_match(const SearchKey& key) const {
  for (const auto& probe : probes_)
    if (probe.key == &key) return (probe.candidates >> position_) & 1;
  return true;
}

SegmentCursor::SegmentCursor(SearchFilter& filter, std::vector<Stored> segments, std::uint32_t through)
    : filter_(filter), segments_(std::move(segments)), through_(through) {}

const TextKeyFilter* SegmentCursor::at(std::uint32_t uid) {
  if (uid > through_) return nullptr;
  // The segment holding `uid` is the last one that starts at or before it.
  bool moved = false;
  while (next_ < segments_.size() && segments_[next_].first <= uid) {
    ++next_;
    moved = true;
  }
  if (moved) {
    current_ = Segment::parse(segments_[next_ - 1].bytes);
    if (current_) filter_.enter(*current_);
    position_ = 0;
  }
  if (!current_) return nullptr;
  const auto& uids = current_->uids();
  while (position_ < uids.size() && uids[position_] < uid) ++position_;
  if (position_ == uids.size() || uids[position_] != uid) return nullptr;
  filter_.at(position_);
  return &filter_;
}

}  // namespace mailstead::imap::text_index
