// The text index (imapd/proto/text_index.hpp): segments as stored, and the one property that
// makes it safe to use — it never excludes a message the matcher would have matched.

#include "imapd/proto/text_index.hpp"

#include <gtest/gtest.h>

#include <random>

#include "common/mime/mime.hpp"
#include "imapd/proto/search.hpp"

namespace mailstead::imap::text_index {
namespace {

using Fields = std::vector<std::pair<std::string_view, std::string_view>>;
using K = SearchKey::Kind;

struct Indexed {
  std::string bytes;
  mime::Part root;
  Fields fields;
  Document doc;
};

SegmentWriter writer_for(const std::vector<const Document*>& docs) {
  return SegmentWriter(SegmentWriter::buckets_for(docs));
}

std::vector<Indexed> index_all(const std::vector<std::string>& messages) {
  std::vector<Indexed> out;
  out.reserve(messages.size());
  for (const auto& m : messages) {
    out.push_back({m, {}, {}, {}});
    auto& x = out.back();
    x.root = mime::parse_message(x.bytes);
    for (const auto& f : x.root.fields) x.fields.emplace_back(f.name, f.value);
    add_message(x.doc, x.fields, x.root, x.bytes);
  }
  return out;
}

bool scan_matches(SearchKey key, Indexed& x, const TextKeyFilter* filter = nullptr,
                  const SearchKey* prepared = nullptr) {
  SearchScope scope{1, 1, {}};
  SearchLoader load = [&x](SearchMessage& m, SearchNeed) {
    m.fields = x.fields;
    m.structure = &x.root;
    m.bytes = x.bytes;
    return true;
  };
  SearchMessage m;
  m.seq = 1;
  m.facts.uid = 1;
  m.index = filter;
  if (prepared) return matches(*prepared, m, scope, load);
  prepare_search(key, scope);
  return matches(key, m, scope, load);
}

SearchKey text_key(K kind, std::string value, std::string field = {}) {
  SearchKey key;
  key.kind = kind;
  key.value = std::move(value);
  key.field = std::move(field);
  key.addresses = kind == K::header && field_source(key.field) && key.field != "Subject";
  SearchKey all;
  all.kind = K::and_;
  all.children.push_back(std::move(key));
  return all;
}

const std::vector<std::string>& corpus() {
  static const std::vector<std::string> messages = {
      "From: \"Ann Example\" <ann (work) @ example.org>\r\nTo: team: bob@example.net, carol@example.com;\r\n"
      "Subject: =?UTF-8?Q?Quarterly_r=C3=A9sum=C3=A9?= and plans\r\nMessage-ID: <q1.2026@example.org>\r\n"
      "X-Other: kept only in the header block\r\n\r\nPlain words, numbers 12345 and a URL https://example.org/x\r\n",
      "From: =?ISO-8859-1?Q?Andr=E9_M=FCller?= <andre@example.de>\r\nSubject: Zürich\r\n"
      "Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
      "Gr=FC=DFe aus Z=DCRICH, =C9T=C9 2026 =\r\nsoft break here and trailing  \r\n",
      "From: sofia@example.gr\r\nSubject: =?UTF-8?B?zqPOn86mzorOkQ==?=\r\nContent-Type: text/plain; charset=utf-8\r\n"
      "Content-Transfer-Encoding: base64\r\n\r\nzqPOn86mzorOkSDOvM6xz4HOrM6+zrkgLSBLZWx2aW4g4oSqIMSwc3RhbmJ1bA==\r\n",
      "From: news@example.com\r\nSubject: Newsletter\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n"
      "--b\r\nContent-Type: text/plain\r\n\r\nRead the SPRING sale offers\r\n--b\r\nContent-Type: text/html\r\n\r\n"
      "<html><style>p{color:red}</style><p>Read the <b>SPRING</b> sale</p></html>\r\n--b--\r\n",
      "From: fwd@example.com\r\nSubject: Fwd: original\r\nContent-Type: multipart/mixed; boundary=m\r\n\r\n"
      "--m\r\nContent-Type: text/plain\r\n\r\nSee below.\r\n--m\r\nContent-Type: message/rfc822\r\n\r\n"
      "From: deep@example.org\r\nSubject: =?UTF-8?Q?Inner_=C3=BCber?=\r\n\r\nThe inner body text\r\n"
      "--m\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: "
      "base64\r\n\r\nJVBERi0xLjQKc2VjcmV0IHBkZg==\r\n"
      "--m--\r\n",
      "From: broken@example.com\r\nSubject: bad encodings\r\nContent-Type: text/plain; charset=x-unknown\r\n"
      "Content-Transfer-Encoding: x-uuencode\r\n\r\nraw \xff\xfe bytes and \xc3( invalid UTF-8 ÅNGSTRÖM\r\n",
      "From: <>\r\nSubject: \r\nReply-To: =?UTF-8?Q?=E2=98=83?= <snow@example.org>\r\nIn-Reply-To: "
      "<q1.2026@example.org>\r\n"
      "\r\nshort\r\n",
  };
  return messages;
}

// Every text the matcher may compare, to take needles from.
std::vector<std::string> texts_of(Indexed& x) {
  std::vector<std::string> texts;
  auto keep = [&texts](std::string_view t) {
    texts.emplace_back(t);
    return false;
  };
  with_searched_value(x.root.header.of(x.bytes), keep);
  for (const auto& [name, value] : x.fields) {
    with_searched_value(value, keep);
    texts.push_back(plain_addresses(value));
  }
  for_each_body_text(x.bytes, x.root, keep);
  return texts;
}

TEST(TextIndex, NeverExcludesAMessageTheMatcherMatches) {
  auto docs = index_all(corpus());
  std::vector<const Document*> all;
  for (const auto& x : docs) all.push_back(&x.doc);
  auto writer = writer_for(all);
  for (std::size_t i = 0; i < docs.size(); ++i) writer.add(static_cast<std::uint32_t>(10 + i), docs[i].doc);
  auto bytes = writer.encode();
  auto segment = Segment::parse(bytes);
  ASSERT_TRUE(segment);
  std::mt19937 random(11);
  const std::vector<std::pair<K, std::string>> kinds = {{K::body, ""},
                                                        {K::text, ""},
                                                        {K::header, "From"},
                                                        {K::header, "To"},
                                                        {K::header, "Subject"},
                                                        {K::header, "Reply-To"},
                                                        {K::header, "Message-ID"},
                                                        {K::header, "X-Other"},
                                                        {K::header, "In-Reply-To"}};
  std::size_t matched = 0, excluded = 0, tried = 0;
  auto check = [&](const std::string& needle) {
    for (const auto& [kind, field] : kinds) {
      auto key = text_key(kind, needle, field);
      SearchScope scope{1, 1, {}};
      prepare_search(key, scope);
      SearchFilter filter(key);
      filter.enter(*segment);
      for (std::size_t i = 0; i < docs.size(); ++i) {
        filter.at(i);
        bool found = scan_matches(key, docs[i], nullptr, &key);
        bool allowed = filter.may_match(key.children[0]);
        ++tried;
        if (found) ++matched;
        if (!allowed) ++excluded;
        ASSERT_TRUE(!found || allowed) << "message " << i << " key " << static_cast<int>(kind) << " " << field
                                       << " needle \"" << needle << "\"";
        // And the matcher, told what the index says, answers as it did alone.
        EXPECT_EQ(scan_matches(key, docs[i], &filter, &key), found);
      }
    }
  };
  for (auto& x : docs) {
    for (const auto& text : texts_of(x)) {
      if (text.empty()) continue;
      for (int round = 0; round < 12; ++round) {
        auto from = random() % text.size();
        auto length = 1 + random() % std::min<std::size_t>(16, text.size() - from);
        std::string needle = text.substr(from, length);
        for (auto& c : needle)  // an ASCII letter in either case
          if (random() % 2 && c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
        check(needle);
      }
    }
  }
  // Across scripts, as the matcher folds them.
  for (const char* needle : {"ÉTÉ",
                             "zürich",
                             "ZÜRICH",
                             "σοφία",
                             "ΣΟΦΊΑ",
                             "μαράξι",
                             "kelvin",
                             "istanbul",
                             "İSTANBUL",
                             "ångström",
                             "résumé",
                             "RÉSUMÉ",
                             "über",
                             "☃",
                             "ann (work)",
                             "ann@example.org",
                             "<andre@example.de>",
                             "team:",
                             "subject: =?utf-8",
                             "pdf",
                             "JVBERi0",
                             "p{color"})
    check(needle);
  EXPECT_GT(matched, 500u);
  EXPECT_GT(excluded, tried / 2);  // and it does narrow
}

TEST(TextIndex, NeedlesInNoMessageExcludeNearlyAll) {
  std::vector<std::string> messages;
  std::mt19937 random(3);
  const char* words[] = {"meeting", "invoice", "holiday", "project", "server", "garden", "report", "budget"};
  for (int i = 0; i < 64; ++i) {
    std::string body;
    for (int w = 0; w < 300; ++w) body += std::string(words[random() % 8]) + (w % 12 == 11 ? "\r\n" : " ");
    messages.push_back("From: user" + std::to_string(i) + "@example.org\r\nSubject: note " + std::to_string(i) +
                       "\r\n\r\n" + body);
  }
  auto docs = index_all(messages);
  std::vector<const Document*> all;
  for (const auto& x : docs) all.push_back(&x.doc);
  auto writer = writer_for(all);
  for (std::size_t i = 0; i < docs.size(); ++i) writer.add(static_cast<std::uint32_t>(i + 1), docs[i].doc);
  EXPECT_TRUE(writer.full());
  auto bytes = writer.encode();
  auto segment = Segment::parse(bytes);
  ASSERT_TRUE(segment);
  auto candidates = [&](K kind, const std::string& needle, const std::string& field = {}) {
    auto key = text_key(kind, needle, field);
    SearchScope scope{1, 1, {}};
    prepare_search(key, scope);
    SearchFilter filter(key);
    filter.enter(*segment);
    int n = 0;
    for (std::size_t i = 0; i < docs.size(); ++i) {
      filter.at(i);
      n += filter.may_match(key.children[0]);
    }
    return n;
  };
  EXPECT_EQ(candidates(K::body, "INVOICE"), 64);
  EXPECT_LE(candidates(K::body, "quarterly"), 2);
  EXPECT_LE(candidates(K::body, "note 17"), 2);  // in a header, not the body
  EXPECT_EQ(candidates(K::text, "note 17"), 1);
  EXPECT_LE(candidates(K::header, "user42@", "From"), 2);
  EXPECT_EQ(candidates(K::header, "invoice", "Subject"), 0);
  EXPECT_EQ(candidates(K::body, "in"), 64);                 // shorter than a trigram: no answer
  EXPECT_EQ(candidates(K::header, "user42@", "X-No"), 64);  // a field without a source of its own
}

TEST(TextIndex, SegmentsAreSizedForTheirMessages) {
  auto docs = index_all({"Subject: a\r\n\r\nhello there\r\n"});
  const auto& small = docs.front().doc;
  auto writer = writer_for({&small});
  writer.add(5, small);
  auto one = writer.encode();
  auto parsed = Segment::parse(one);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->buckets(), kMinBuckets);
  EXPECT_EQ(parsed->uids(), std::vector<std::uint32_t>{5});
  EXPECT_EQ(one.size(), 4u + kMinBuckets);  // one byte per bucket for up to 8 messages
  // Full, the same document in every column.
  auto full = writer_for({&small});
  for (std::uint32_t uid = 1; uid <= kMaxDocuments; ++uid) full.add(uid * 1000, small);
  EXPECT_TRUE(full.full());
  auto bytes = full.encode();
  auto reparsed = Segment::parse(bytes);
  ASSERT_TRUE(reparsed);
  EXPECT_EQ(reparsed->uids().size(), 64u);
  EXPECT_EQ(reparsed->uids()[1], 2000u);
  for (std::uint32_t b = 0; b < kMinBuckets; ++b)
    EXPECT_EQ(reparsed->word(b), (parsed->word(b) & 1) ? ~0ULL : 0ULL) << b;
  // Eight buckets per trigram of the message at the third quartile: a few large messages do
  // not size a segment of small ones, and the other way round.
  std::string long_body;
  std::mt19937 random(5);
  for (int i = 0; i < 20000; ++i) long_body += static_cast<char>('!' + random() % 90);
  auto big = index_all({"Subject: b\r\n\r\n" + long_body});
  const auto& large = big.front().doc;
  EXPECT_GT(large.weight(), 15000u);
  std::vector<const Document*> mostly_small(56, &small), mostly_large(48, &large);
  mostly_small.insert(mostly_small.end(), 8, &large);
  mostly_large.insert(mostly_large.end(), 16, &small);
  EXPECT_EQ(SegmentWriter::buckets_for(mostly_small), kMinBuckets);
  EXPECT_EQ(SegmentWriter::buckets_for(mostly_large), kMaxBuckets);
  Document unreadable;
  unreadable.saturate();
  EXPECT_EQ(SegmentWriter::buckets_for({&unreadable, &small}), kMinBuckets);  // it sets every bit anyway
  auto with_unreadable = writer_for({&small});
  with_unreadable.add(1, unreadable);
  auto unreadable_bytes = with_unreadable.encode();
  auto stored = Segment::parse(unreadable_bytes);
  ASSERT_TRUE(stored);
  for (std::uint32_t b = 0; b < kMinBuckets; ++b) ASSERT_EQ(stored->word(b), 1u);
}

TEST(TextIndex, MalformedSegmentsAreRefused) {
  auto docs = index_all({"Subject: a\r\n\r\nhello\r\n"});
  auto writer = writer_for({&docs.front().doc});
  writer.add(1, docs.front().doc);
  writer.add(2, docs.front().doc);
  auto good = writer.encode();
  ASSERT_TRUE(Segment::parse(good));
  EXPECT_FALSE(Segment::parse(""));
  EXPECT_FALSE(Segment::parse(good.substr(0, good.size() - 1)));
  EXPECT_FALSE(Segment::parse(good + "x"));
  auto bad = good;
  bad[0] = 2;  // a format this version does not know
  EXPECT_FALSE(Segment::parse(bad));
  bad = good;
  bad[1] = 2;  // fewer buckets than a segment has
  EXPECT_FALSE(Segment::parse(bad));
  bad = good;
  bad[4] = 0;  // the second UID equal to the first
  EXPECT_FALSE(Segment::parse(bad));
  bad = good;
  bad[2] = 65;
  EXPECT_FALSE(Segment::parse(bad));
  EXPECT_FALSE(Segment::parse(std::string("\x01\x10\x01\xff\xff\xff\xff\xff", 8)));  // a UID past 32 bits
}

// Text that is not ASCII is case-folded a piece at a time: a needle across the join of two
// pieces, and one across a character cut by the nominal join, are still found.
TEST(TextIndex, LongTextsAreFoldedInPiecesWithoutLosingAJoin) {
  std::string body = std::string(65533, 'x') + "ÜBERGANG " + std::string(200, 'y') + "é";  // Ü at 65533
  body += std::string(65536 - 3, 'z') + "ÉTÉ";  // a character across the second join
  auto docs = index_all({"Subject: s\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body});
  auto writer = writer_for({&docs.front().doc});
  writer.add(1, docs.front().doc);
  auto bytes = writer.encode();
  auto segment = Segment::parse(bytes);
  ASSERT_TRUE(segment);
  for (const char* needle : {"übergang", "zzété", "yé"}) {
    auto key = text_key(K::body, needle);
    SearchScope scope{1, 1, {}};
    prepare_search(key, scope);
    ASSERT_TRUE(scan_matches(key, docs.front(), nullptr, &key)) << needle;
    SearchFilter filter(key);
    filter.enter(*segment);
    filter.at(0);
    EXPECT_TRUE(filter.may_match(key.children[0])) << needle;
  }
}

TEST(TextIndex, TheCursorAnswersOnlyForMessagesInItsSegments) {
  auto docs = index_all({"Subject: a\r\n\r\nalpha words\r\n", "Subject: b\r\n\r\nbravo words\r\n"});
  auto segment_of = [&](std::vector<std::uint32_t> uids) {
    auto w = writer_for({&docs[0].doc, &docs[1].doc});
    for (std::size_t i = 0; i < uids.size(); ++i) w.add(uids[i], docs[i % 2].doc);
    return w.encode();
  };
  auto first = segment_of({2, 4, 6});
  auto second = segment_of({8, 9});
  auto key = text_key(K::body, "alpha");
  SearchScope scope{1, 1, {}};
  prepare_search(key, scope);
  SearchFilter filter(key);
  SegmentCursor cursor(filter, {{2, first}, {7, "not a segment"}, {8, second}}, 9);
  const auto& alpha = key.children[0];
  auto says = [&](std::uint32_t uid) -> int {  // -1: no answer, 0: cannot match, 1: may
    auto* f = cursor.at(uid);
    return f ? f->may_match(alpha) : -1;
  };
  EXPECT_EQ(says(1), -1);  // before the first segment
  EXPECT_EQ(says(2), 1);   // "alpha"
  EXPECT_EQ(says(3), -1);  // not in the segment (expunged before it was indexed)
  EXPECT_EQ(says(4), 0);   // "bravo"
  EXPECT_EQ(says(6), 1);
  EXPECT_EQ(says(7), -1);  // in a segment that does not read
  EXPECT_EQ(says(8), 1);
  EXPECT_EQ(says(9), 0);
  EXPECT_EQ(says(10), -1);  // above how far the index reaches
}

}  // namespace
}  // namespace mailstead::imap::text_index
