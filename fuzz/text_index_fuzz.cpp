// libFuzzer target: the text index never excludes a message the matcher matches. The input is
// a needle (up to the first newline) and a message; for BODY, TEXT and each kind of header key
// the index answers, a match by the matcher must be a candidate of the index, and a segment
// that holds the message twice reads back with both columns alike.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/mime/mime.hpp"
#include "imapd/proto/search.hpp"
#include "imapd/proto/text_index.hpp"

using namespace mailstead;
using namespace mailstead::imap;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto newline = input.find('\n');
  if (newline == std::string_view::npos || newline > 64) return 0;
  std::string needle(input.substr(0, newline));
  std::string_view bytes = input.substr(newline + 1);
  auto root = mime::parse_message(bytes);
  std::vector<std::pair<std::string_view, std::string_view>> fields;
  for (const auto& f : root.fields) fields.emplace_back(f.name, f.value);
  text_index::Document doc;
  text_index::add_message(doc, fields, root, bytes);
  text_index::SegmentWriter writer(text_index::SegmentWriter::buckets_for({&doc}));
  writer.add(1, doc);
  writer.add(2, doc);
  auto encoded = writer.encode();
  auto segment = text_index::Segment::parse(encoded);
  if (!segment || segment->uids().size() != 2) std::abort();
  for (std::uint32_t b = 0; b < segment->buckets(); ++b)  // both columns as written
    if (auto w = segment->word(b); w != 0 && w != 3) std::abort();

  SearchScope scope{1, 1, {}};
  SearchLoader load = [&](SearchMessage& m, SearchNeed) {
    m.fields = fields;
    m.structure = &root;
    m.bytes = bytes;
    return true;
  };
  using K = SearchKey::Kind;
  const std::pair<K, const char*> kinds[] = {{K::body, ""},          {K::text, ""},     {K::header, "From"},
                                             {K::header, "Subject"}, {K::header, "To"}, {K::header, "Message-ID"},
                                             {K::header, "Reply-To"}};
  for (auto [kind, field] : kinds) {
    SearchKey key;
    key.kind = K::and_;
    key.children.emplace_back();
    key.children[0].kind = kind;
    key.children[0].field = field;
    key.children[0].addresses = kind == K::header && std::string_view(field) != "Subject";
    key.children[0].value = needle;
    prepare_search(key, scope);
    text_index::SearchFilter filter(key);
    filter.enter(*segment);
    filter.at(1);
    SearchMessage m;
    m.seq = 1;
    bool found = matches(key, m, scope, load);
    if (found && !filter.may_match(key.children[0])) std::abort();
  }
  return 0;
}
