#include "common/mime/mime.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/mime/preview.hpp"
#include "common/text/utf8.hpp"

namespace mailstead::mime {
namespace {

std::string crlf(std::string_view lf_text) {
  std::string out;
  for (char c : lf_text) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

TEST(MimeHeaders, UnfoldsAndSkipsJunk) {
  auto fields =
      parse_header_fields(crlf("Subject: a\n  long\tsubject\nno colon here\nX-Empty:\nTo:  b@x\n\nBody: no\n"));
  ASSERT_EQ(fields.size(), 3u);
  EXPECT_EQ(fields[0].name, "Subject");
  EXPECT_EQ(fields[0].value, "a  long\tsubject");
  EXPECT_EQ(fields[1].name, "X-Empty");
  EXPECT_EQ(fields[1].value, "");
  EXPECT_EQ(fields[2].value, "b@x");
}

TEST(MimeHeaders, HeaderEndIncludesTheBlankLine) {
  EXPECT_EQ(header_end("A: b\r\n\r\nbody"), 8u);
  EXPECT_EQ(header_end("A: b\n\nbody"), 6u);
  EXPECT_EQ(header_end("\r\nbody"), 2u);
  EXPECT_EQ(header_end("A: b\r\n"), 6u);  // no body at all
  EXPECT_EQ(header_end(""), 0u);
}

TEST(MimeHeaders, FieldCountIsCapped) {
  std::string block;
  for (int i = 0; i < 5000; ++i) block += fmt::format("X-F{}: v\r\n", i);
  EXPECT_EQ(parse_header_fields(block).size(), Limits{}.max_header_fields);
}

TEST(MimeContentType, TypeSubtypeAndParameters) {
  std::string type, subtype;
  Parameters params;
  parse_content_type("Text/HTML; Charset=\"UTF-8\" ; format=flowed (comment); name=\"a \\\"b\\\".txt\"", type, subtype,
                     params);
  EXPECT_EQ(type, "text");
  EXPECT_EQ(subtype, "html");
  EXPECT_EQ(params, (Parameters{{"charset", "UTF-8"}, {"format", "flowed"}, {"name", "a \"b\".txt"}}));
  parse_content_type("multipart/mixed;\r\n boundary=----=_Part_1", type, subtype, params);
  EXPECT_EQ(params, (Parameters{{"boundary", "----=_Part_1"}}));
  parse_content_type("garbage", type, subtype, params);
  EXPECT_EQ(subtype, "");
}

// Found by the fuzzer: a comment that ends in a backslash at the end of the field stepped the
// parser one byte past the end.
TEST(MimeContentType, CommentEndingInBackslashStaysInBounds) {
  std::string type, subtype;
  Parameters params;
  parse_content_type("text/plain; (comment \\", type, subtype, params);
  EXPECT_EQ(subtype, "plain");
  EXPECT_TRUE(params.empty());
  parse_content_type("text/plain; charset=utf-8 (\\", type, subtype, params);
  EXPECT_EQ(params, (Parameters{{"charset", "utf-8"}}));
  auto trailing = parse_address_list("a@x.test (\\");
  ASSERT_EQ(trailing.size(), 1u);
  EXPECT_EQ(trailing[0].mailbox, "a");
  EXPECT_EQ(trailing[0].host, "x.test");
}

TEST(MimeAddresses, CommonForms) {
  EXPECT_EQ(parse_address_list("alice@example.test"), (std::vector<Address>{{"", "", "alice", "example.test"}}));
  EXPECT_EQ(
      parse_address_list("Alice Smith <alice@example.test>, \"Bob, Jr.\" <bob@example.org>"),
      (std::vector<Address>{{"Alice Smith", "", "alice", "example.test"}, {"Bob, Jr.", "", "bob", "example.org"}}));
  EXPECT_EQ(parse_address_list("carol@example.test (Carol C.)"),
            (std::vector<Address>{{"Carol C.", "", "carol", "example.test"}}));
  EXPECT_EQ(parse_address_list("=?UTF-8?Q?J=C3=B6rg?= <joerg@example.test>"),
            (std::vector<Address>{{"=?UTF-8?Q?J=C3=B6rg?=", "", "joerg", "example.test"}}));
  EXPECT_EQ(parse_address_list("<@relay.test,@other.test:dave@example.test>"),
            (std::vector<Address>{{"", "@relay.test,@other.test", "dave", "example.test"}}));
  EXPECT_EQ(parse_address_list("\"odd local\"@example.test"),
            (std::vector<Address>{{"", "", "\"odd local\"", "example.test"}}));
  EXPECT_EQ(parse_address_list("first.last@sub.example.test"),
            (std::vector<Address>{{"", "", "first.last", "sub.example.test"}}));
}

TEST(MimeAddresses, Groups) {
  EXPECT_EQ(parse_address_list("undisclosed-recipients:;"),
            (std::vector<Address>{{"", "", "undisclosed-recipients", ""}, {"", "", "", ""}}));
  auto team = parse_address_list("Team: a@x.test, B <b@x.test>; c@y.test");
  ASSERT_EQ(team.size(), 5u);
  EXPECT_TRUE(team[0].group_start());
  EXPECT_EQ(team[0].mailbox, "Team");
  EXPECT_EQ(team[1], (Address{"", "", "a", "x.test"}));
  EXPECT_EQ(team[2], (Address{"B", "", "b", "x.test"}));
  EXPECT_TRUE(team[3].group_end());
  EXPECT_EQ(team[4], (Address{"", "", "c", "y.test"}));
}

// imaptest's fetch-envelope message: groups side by side, an empty one, one holding a comment.
TEST(MimeAddresses, GroupsWithCommentsAndEmptyGroups) {
  auto to = parse_address_list("group: g1@d1.org, g2@d2.org;, group2: g3@d3.org;");
  EXPECT_EQ(to, (std::vector<Address>{{"", "", "group", ""},
                                      {"", "", "g1", "d1.org"},
                                      {"", "", "g2", "d2.org"},
                                      {"", "", "", ""},
                                      {"", "", "group2", ""},
                                      {"", "", "g3", "d3.org"},
                                      {"", "", "", ""}}));
  auto cc = parse_address_list("group:;, group2: (foo) ;");
  EXPECT_EQ(cc,
            (std::vector<Address>{{"", "", "group", ""}, {"", "", "", ""}, {"", "", "group2", ""}, {"", "", "", ""}}));
  EXPECT_TRUE(parse_address_list("(only a comment)").empty());
}

TEST(MimeAddresses, Malformed) {
  EXPECT_TRUE(parse_address_list("").empty());
  EXPECT_TRUE(parse_address_list(" , ,").empty());
  EXPECT_EQ(parse_address_list("nobody"), (std::vector<Address>{{"", "", "nobody", "MISSING_DOMAIN"}}));
  EXPECT_EQ(parse_address_list("<>"), (std::vector<Address>{{"", "", "MISSING_MAILBOX", "MISSING_DOMAIN"}}));
  auto unbalanced = parse_address_list("\"Unclosed <a@x.test>");
  EXPECT_EQ(unbalanced.size(), 1u);
  auto stray = parse_address_list("> a@x.test <b@y.test");
  EXPECT_FALSE(stray.empty());
  parse_address_list(std::string(100000, '('));  // nothing but an unclosed comment
  parse_address_list(std::string(100000, '<'));
}

TEST(MimeMessage, SimpleText) {
  auto bytes = crlf(
      "Date: Tue, 24 Nov 2026 09:00:00 +0000\nFrom: Alice <alice@example.test>\nTo: bob@example.org\n"
      "Subject: =?UTF-8?B?SGVsbG8=?=\nMessage-ID: <1@example.test>\n\nline one\nline two\n");
  auto m = parse_message(bytes);
  EXPECT_EQ(m.type, "text");
  EXPECT_EQ(m.subtype, "plain");
  EXPECT_EQ(m.parameters, (Parameters{{"charset", "us-ascii"}}));
  EXPECT_EQ(m.encoding, "7bit");
  EXPECT_EQ(m.body.of(bytes), "line one\r\nline two\r\n");
  EXPECT_EQ(m.header.offset, 0u);
  EXPECT_TRUE(m.header.of(bytes).ends_with("\r\n\r\n"));
  EXPECT_EQ(m.body_lines, 2u);
  ASSERT_TRUE(m.envelope);
  EXPECT_EQ(m.envelope->subject, "=?UTF-8?B?SGVsbG8=?=");
  EXPECT_EQ(m.envelope->message_id, "<1@example.test>");
  EXPECT_EQ(m.envelope->from, (std::vector<Address>{{"Alice", "", "alice", "example.test"}}));
  EXPECT_EQ(m.envelope->sender, m.envelope->from);  // defaults (RFC 3501 §7.4.2)
  EXPECT_EQ(m.envelope->reply_to, m.envelope->from);
  EXPECT_FALSE(m.envelope->in_reply_to);
  EXPECT_TRUE(m.envelope->cc.empty());
}

const char* kRelated =
    "From: a@example.test\n"
    "Content-Type: multipart/related; boundary=\"outer\"\n"
    "\n"
    "preamble\n"
    "--outer\n"
    "Content-Type: multipart/alternative; boundary=inner\n"
    "\n"
    "--inner\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "Content-Transfer-Encoding: quoted-printable\n"
    "\n"
    "plain =C3=A4\n"
    "--inner\n"
    "Content-Type: text/html; charset=utf-8\n"
    "\n"
    "<p>html <img src=\"cid:img1\"></p>\n"
    "--inner--\n"
    "--outer\n"
    "Content-Type: image/png; name=\"dot.png\"\n"
    "Content-Transfer-Encoding: base64\n"
    "Content-ID: <img1>\n"
    "Content-Disposition: inline; filename=\"dot.png\"\n"
    "\n"
    "iVBORw0KGgo=\n"
    "--outer--\n"
    "epilogue\n";

TEST(MimeMessage, MultipartAlternativeWithInlineImage) {
  auto bytes = crlf(kRelated);
  auto m = parse_message(bytes);
  ASSERT_TRUE(m.is_multipart());
  EXPECT_EQ(m.subtype, "related");
  ASSERT_EQ(m.children.size(), 2u);
  const auto& alt = m.children[0];
  EXPECT_EQ(alt.subtype, "alternative");
  ASSERT_EQ(alt.children.size(), 2u);
  EXPECT_EQ(alt.children[0].body.of(bytes), "plain =C3=A4");  // the CRLF before --inner is the delimiter's
  EXPECT_EQ(alt.children[0].encoding, "quoted-printable");
  EXPECT_EQ(alt.children[0].parameters, (Parameters{{"charset", "utf-8"}}));
  EXPECT_EQ(alt.children[0].body_lines, 0u);  // line ends counted, as Dovecot and Cyrus do
  EXPECT_EQ(alt.children[1].subtype, "html");
  const auto& img = m.children[1];
  EXPECT_EQ(img.type, "image");
  EXPECT_EQ(img.id, "<img1>");
  EXPECT_EQ(img.encoding, "base64");
  EXPECT_EQ(img.disposition, "inline");
  EXPECT_EQ(img.disposition_parameters, (Parameters{{"filename", "dot.png"}}));
  EXPECT_EQ(img.body.of(bytes), "iVBORw0KGgo=");
  EXPECT_EQ(img.header.of(bytes).substr(0, 13), "Content-Type:");
}

TEST(MimeMessage, ForwardedMessageHasItsOwnEnvelope) {
  auto bytes = crlf(
      "From: a@example.test\nSubject: Fwd\nContent-Type: multipart/mixed; boundary=b\n\n--b\n\nsee below\n--b\n"
      "Content-Type: message/rfc822\n\nFrom: Orig <orig@example.org>\nSubject: original\nTo: x@example.test\n\n"
      "original body\n--b--\n");
  auto m = parse_message(bytes);
  ASSERT_EQ(m.children.size(), 2u);
  EXPECT_EQ(m.children[0].type, "text");  // default type of a part without Content-Type
  const auto& fwd = m.children[1];
  ASSERT_TRUE(fwd.is_message());
  ASSERT_EQ(fwd.children.size(), 1u);
  ASSERT_TRUE(fwd.children[0].envelope);
  EXPECT_EQ(fwd.children[0].envelope->subject, "original");
  EXPECT_EQ(fwd.children[0].envelope->from[0].host, "example.org");
  EXPECT_EQ(fwd.children[0].body.of(bytes), "original body");
  EXPECT_EQ(fwd.body_lines, 4u);  // From, Subject, To, blank: the body line runs into the boundary
}

TEST(MimeMessage, DigestPartsDefaultToMessages) {
  auto bytes =
      crlf("Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: one\n\n1\n--d\n\nSubject: two\n\n2\n--d--\n");
  auto m = parse_message(bytes);
  ASSERT_EQ(m.children.size(), 2u);
  EXPECT_TRUE(m.children[0].is_message());
  EXPECT_EQ(m.children[1].children[0].envelope->subject, "two");
}

TEST(MimeMessage, MissingClosingBoundaryEndsAtTheEnd) {
  auto bytes = crlf("Content-Type: multipart/mixed; boundary=b\n\n--b\n\nfirst\n--b\n\nsecond, never closed\n");
  auto m = parse_message(bytes);
  ASSERT_EQ(m.children.size(), 2u);
  EXPECT_EQ(m.children[1].body.of(bytes), "second, never closed\r\n");
}

TEST(MimeMessage, MultipartWithoutBoundaryBecomesText) {
  for (auto ct : {"multipart/mixed", "multipart/mixed; boundary=\"\"", "multipart/mixed; boundary=zz"}) {
    auto bytes = crlf(fmt::format("Content-Type: {}\n\n--b\n\nx\n--b--\n", ct));
    auto m = parse_message(bytes);
    EXPECT_EQ(m.type, "text") << ct;
    EXPECT_TRUE(m.children.empty()) << ct;
    EXPECT_EQ(m.body_lines, 4u) << ct;
  }
}

TEST(MimeMessage, SimilarBoundariesDoNotConfuse) {
  auto bytes = crlf(
      "Content-Type: multipart/mixed; boundary=b1\n\n--b1\nContent-Type: multipart/mixed; boundary=b1x\n\n"
      "--b1x\n\ninner\n--b1x--\n--b1\n\nouter two\n--b1--\n");
  auto m = parse_message(bytes);
  ASSERT_EQ(m.children.size(), 2u);
  ASSERT_EQ(m.children[0].children.size(), 1u);
  EXPECT_EQ(m.children[0].children[0].body.of(bytes), "inner");
  EXPECT_EQ(m.children[1].body.of(bytes), "outer two");
}

TEST(MimeMessage, DeepNestingIsCut) {
  std::string bytes;
  for (int i = 0; i < 200; ++i)
    bytes += fmt::format("Content-Type: multipart/mixed; boundary=b{}\r\n\r\n--b{}\r\n", i, i);
  bytes += "\r\ndeepest\r\n";
  auto m = parse_message(bytes);
  int depth = 0;
  for (const Part* p = &m; !p->children.empty(); p = &p->children[0]) ++depth;
  EXPECT_LE(depth, static_cast<int>(Limits{}.max_depth));
}

TEST(MimeMessage, DeeplyNestedMessagesAreCut) {
  std::string bytes;
  for (int i = 0; i < 500; ++i) bytes += "Content-Type: message/rfc822\r\n\r\n";
  bytes += "Subject: bottom\r\n\r\nx\r\n";
  auto m = parse_message(bytes);
  int depth = 0;
  for (const Part* p = &m; !p->children.empty(); p = &p->children[0]) ++depth;
  EXPECT_LE(depth, static_cast<int>(Limits{}.max_depth) + 1);
}

TEST(MimeMessage, EightBitHeadersBareLfAndNoBody) {
  auto bytes = std::string("Subject: caf\xc3\xa9 \xff\nFrom: \xe5\xbc\xa0@example.test\n\nbody\n");
  auto m = parse_message(bytes);
  EXPECT_EQ(m.envelope->subject, "caf\xc3\xa9 \xff");
  EXPECT_EQ(m.envelope->from[0].mailbox, "\xe5\xbc\xa0");
  EXPECT_EQ(m.body.of(bytes), "body\n");
  auto headers_only = parse_message("Subject: x\r\n");
  EXPECT_EQ(headers_only.body.length, 0u);
  EXPECT_EQ(headers_only.body_lines, 0u);
  auto empty = parse_message("");
  EXPECT_EQ(empty.type, "text");
}

TEST(MimeMessage, HugeHeaderIsBounded) {
  std::string bytes;
  for (int i = 0; i < 20000; ++i) bytes += fmt::format("Received: from host{} by relay\r\n", i);
  bytes += "Subject: after many\r\n\r\nbody\r\n";
  auto m = parse_message(bytes);
  EXPECT_EQ(m.fields.size(), Limits{}.max_header_fields);
  EXPECT_EQ(m.body.of(bytes), "body\r\n");
}

TEST(MimeHeaders, FieldReaderSeesEveryFieldWithoutAllocating) {
  auto block = crlf("From: a@x\n (comment)\n\tmore\nnot a field\n continued junk\nTo : b@y\nX-Empty:\n\nBody: no\n");
  FieldReader reader(block);
  std::string_view name, value;
  ASSERT_TRUE(reader.next(name, value));
  EXPECT_EQ(name, "From");
  EXPECT_EQ(value, "a@x\r\n (comment)\r\n\tmore");
  EXPECT_EQ(unfold(value), "a@x (comment)\tmore");
  ASSERT_TRUE(reader.next(name, value));
  EXPECT_EQ(name, "To");  // the junk line and its continuation are skipped
  EXPECT_EQ(value, "b@y");
  ASSERT_TRUE(reader.next(name, value));
  EXPECT_EQ(name, "X-Empty");
  EXPECT_EQ(value, "");
  EXPECT_FALSE(reader.next(name, value));  // the blank line ends the header
}

TEST(MimeHeaders, FieldsPastTheCapDoNotJoinTheLastKeptOne) {
  std::string block;
  for (int i = 0; i < 5; ++i) block += fmt::format("X-F{}: v{}\r\n folded{}\r\n", i, i, i);
  auto fields = parse_header_fields(block, Limits{.max_header_fields = 2});
  ASSERT_EQ(fields.size(), 2u);
  EXPECT_EQ(fields[1].value, "v1 folded1");
}

TEST(MimeHeaders, OnlyTheFirstHeaderBytesAreIndexed) {
  std::string block;
  for (int i = 0; i < 100; ++i) block += fmt::format("X-F{:03}: {}\r\n", i, std::string(90, 'v'));
  auto fields = parse_header_fields(block, Limits{.max_header_size = 1000});
  EXPECT_LE(fields.size(), 10u);
  EXPECT_GE(fields.size(), 9u);
  EXPECT_EQ(fields[0].name, "X-F000");
}

// The finding: 1 MB of empty parts took 165 MB to parse. The parts past the limit are one
// opaque part holding the rest of the bytes, so nothing is lost from what IMAP returns.
TEST(MimeLimits, EmptyPartsPastTheLimitAreOneOpaquePart) {
  std::string bytes = "Content-Type: multipart/mixed; boundary=b\r\n\r\n";
  for (int i = 0; i < 200000; ++i) bytes += "--b\r\n";
  bytes += "--b--\r\n";
  ParseStats stats;
  Limits limits;
  auto m = parse_message(bytes, limits, &stats);
  EXPECT_TRUE(stats.summarised);
  EXPECT_LE(stats.parts, limits.max_parts + 1);
  EXPECT_LE(stats.structure_size, limits.max_structure_size + 4096);
  ASSERT_EQ(m.children.size(), limits.max_parts - 1);
  const auto& rest = m.children.back();
  EXPECT_EQ(rest.type, "application");
  EXPECT_EQ(rest.subtype, "octet-stream");
  EXPECT_EQ(rest.header.length, 0u);
  EXPECT_EQ(rest.body.offset + rest.body.length, m.body.offset + m.body.length);
}

TEST(MimeLimits, ManyPartsWithinTheLimitAreAllIndexed) {
  std::string bytes = "Content-Type: multipart/mixed; boundary=b\r\n\r\n";
  for (int i = 0; i < 10; ++i) bytes += fmt::format("--b\r\n\r\npart {}\r\n", i);
  bytes += "--b--\r\n";
  ParseStats stats;
  auto m = parse_message(bytes, Limits{.max_parts = 11}, &stats);
  EXPECT_FALSE(stats.summarised);  // the closing delimiter follows the last part that fits
  ASSERT_EQ(m.children.size(), 10u);
  EXPECT_EQ(m.children[9].body.of(bytes), "part 9");
  m = parse_message(bytes, Limits{.max_parts = 10}, &stats);
  EXPECT_TRUE(stats.summarised);
  ASSERT_EQ(m.children.size(), 9u);
  EXPECT_EQ(m.children[8].type, "application");
  EXPECT_EQ(m.children[8].body.of(bytes), "\r\npart 8\r\n--b\r\n\r\npart 9\r\n--b--\r\n");
}

TEST(MimeLimits, StructureSizeStopsPartsWithBigHeaders) {
  std::string bytes = "Content-Type: multipart/mixed; boundary=b\r\n\r\n";
  for (int i = 0; i < 100; ++i) bytes += fmt::format("--b\r\nX-Big: {}\r\n\r\nx\r\n", std::string(10000, 'v'));
  bytes += "--b--\r\n";
  ParseStats stats;
  Limits limits{.max_structure_size = 100 * 1000};
  auto m = parse_message(bytes, limits, &stats);
  EXPECT_TRUE(stats.summarised);
  EXPECT_LT(m.children.size(), 12u);
  EXPECT_LE(stats.structure_size, limits.max_structure_size + 12000);
  EXPECT_EQ(m.children.back().type, "application");
}

TEST(MimeLimits, DepthFollowsTheConfiguredLimit) {
  std::string bytes;
  for (int i = 0; i < 10; ++i) bytes += "Content-Type: message/rfc822\r\n\r\n";
  bytes += "Subject: bottom\r\n\r\nx\r\n";
  ParseStats stats;
  auto m = parse_message(bytes, Limits{.max_depth = 3}, &stats);
  int depth = 0;
  for (const Part* p = &m; !p->children.empty(); p = &p->children[0]) ++depth;
  EXPECT_EQ(depth, 3);
  EXPECT_TRUE(stats.summarised);
}

std::string preview(std::string_view lf_message, std::size_t max_chars = kMaxPreviewChars, const Limits& limits = {}) {
  auto message = crlf(lf_message);
  return make_preview(message, parse_message(message), limits, max_chars);
}

std::size_t code_points(std::string_view text) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < text.size(); i += text::decode_utf8(text.substr(i)).length) ++n;
  return n;
}

TEST(Preview, PlainTextWithItsWhiteSpaceCondensed) {
  EXPECT_EQ(preview("Subject: x\n\nHello Bob,\n\n  the  meeting\tmoved\nto Tuesday.\n"),
            "Hello Bob, the meeting moved to Tuesday.");
  EXPECT_EQ(preview("Subject: empty\n\n"), "");
  EXPECT_EQ(preview("Subject: no body"), "");
}

TEST(Preview, LeavesOutQuotedLinesAndTheSignature) {
  EXPECT_EQ(preview("Subject: Re: x\n\nYes, see you then.\n\nOn Monday Bob wrote:\n> Shall we meet?\n>> Earlier\n"
                    "   > indented quote\n\n-- \nAlice\nAlice's phone: 555\n"),
            "Yes, see you then. On Monday Bob wrote:");
  EXPECT_EQ(preview("Subject: x\n\n-- \nonly a signature\n"), "");
}

TEST(Preview, DecodesTransferEncodingAndCharset) {
  EXPECT_EQ(preview("Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\n"
                    "Caf=E9 cr=E8me, soft=\n break.\n"),
            "Caf\xc3\xa9 cr\xc3\xa8me, soft break.");
  EXPECT_EQ(preview("Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n"
                    "R3LDvMOfZSBhdXMgS8O2bG4=\n"),
            "Gr\xc3\xbc\xc3\x9f"
            "e aus K\xc3\xb6ln");
}

TEST(Preview, PrefersPlainTextAmongAlternatives) {
  auto message =
      "Content-Type: multipart/alternative; boundary=b\n\n--b\nContent-Type: text/plain\n\nThe plain one.\n"
      "--b\nContent-Type: text/html\n\n<p>The <b>HTML</b> one.</p>\n--b--\n";
  EXPECT_EQ(preview(message), "The plain one.");
  auto html_only =
      "Content-Type: multipart/alternative; boundary=b\n\n--b\nContent-Type: text/html\n\n<p>Only <b>HTML</b>.</p>\n"
      "--b--\n";
  EXPECT_EQ(preview(html_only), "Only HTML.");
}

TEST(Preview, SkipsAttachmentsAndEncryptedMail) {
  auto attached_first =
      "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\nContent-Disposition: attachment; "
      "filename=notes.txt\n\nattached notes\n--b\nContent-Type: text/plain\n\nThe letter.\n--b--\n";
  EXPECT_EQ(preview(attached_first), "The letter.");
  auto only_a_picture =
      "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: image/png\nContent-Transfer-Encoding: base64\n\n"
      "iVBORw0KGgo=\n--b--\n";
  EXPECT_EQ(preview(only_a_picture), "");
  auto encrypted =
      "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=b\n\n--b\n"
      "Content-Type: application/pgp-encrypted\n\nVersion: 1\n--b\nContent-Type: text/plain\n\n"
      "-----BEGIN PGP MESSAGE-----\n--b--\n";
  EXPECT_EQ(preview(encrypted), "");
  auto forwarded = "Content-Type: message/rfc822\n\nSubject: inner\nContent-Type: text/plain\n\nThe forwarded text.\n";
  EXPECT_EQ(preview(forwarded), "The forwarded text.");
}

TEST(Preview, NewsletterPaddingAndHiddenHtmlLeaveTheText) {
  std::string html =
      "Content-Type: text/html; charset=utf-8\n\n<!DOCTYPE html><html><head><title>Weekly</title>"
      "<style>p { color: red; } /* </p> */</style></head><body><!-- comment <b> -->"
      "<div style=\"display:none\">Sale&nbsp;&#847;&zwnj;&nbsp;&#847;&zwnj;&nbsp;ends</div>"
      "<script type=\"text/javascript\">var a = '<p>';</script>"
      "<table><tr><td>Tom&amp;Jerry</td><td>&lt;3&gt;</td></tr></table>"
      "<p title='a > b'>5 &euro; &#x1F600; &#128512;</p></body></html>\n";
  EXPECT_EQ(preview(html), "Sale ends Tom&Jerry <3> 5 \xe2\x82\xac \xf0\x9f\x98\x80 \xf0\x9f\x98\x80");
}

TEST(Preview, HtmlQuotesAndSignaturesLeftOut) {
  auto html = "Content-Type: text/html\n\n<div>Thanks!</div><div>-- </div><div>Alice</div>\n";
  EXPECT_EQ(preview(html), "Thanks!");
  auto quoted =
      "Content-Type: text/html\n\n<p>Agreed.</p><blockquote><p>Shall we <b>meet</b>?</p>"
      "<blockquote>older</blockquote><p>still quoted</p></blockquote><p>After.</p>\n";
  EXPECT_EQ(preview(quoted), "Agreed. After.");
}

// The first round converts only the start of a page; text after a long quote still counts.
TEST(Preview, TextAfterALongQuoteIsFound) {
  std::string quote;
  for (int i = 0; i < 10'000; ++i) quote += "<p>quoted words</p>";
  EXPECT_EQ(preview("Content-Type: text/html\n\n<blockquote>" + quote + "</blockquote><p>Reply at the end</p>\n"),
            "Reply at the end");
}

TEST(Preview, AtMostTheCharactersAskedForOnCharacterBoundaries) {
  std::string body;
  for (int i = 0; i < 400; ++i) body += "\xc3\xa9 ";  // "é é é ..."
  auto text = preview("Content-Type: text/plain; charset=utf-8\n\n" + body + "\n");
  // 256 at most; here 255, since the 256th would be a space before nothing.
  EXPECT_EQ(code_points(text), kMaxPreviewChars - 1);
  EXPECT_TRUE(text::valid_utf8(text));
  EXPECT_NE(text.back(), ' ');
  EXPECT_EQ(preview("Subject: x\n\nabc def\n", 5), "abc d");
  EXPECT_EQ(preview("Subject: x\n\nabc def\n", 0), "");
}

TEST(Preview, ControlCharactersAndBrokenUtf8NeverReachTheClient) {
  auto text =
      preview(std::string("Content-Type: text/plain; charset=utf-8\n\na\x01"
                          "b\x7f"
                          "c\xc3 d\xff\xfe"
                          "e\x1b[31m\n"));
  EXPECT_EQ(text, "a b c de [31m");
  EXPECT_TRUE(text::valid_utf8(text));
}

TEST(HtmlToText, BlocksBreakLinesAndOutputIsBounded) {
  EXPECT_EQ(html_to_text("a<br>b<p>c</p>d", 100), "a\nb\nc\nd");
  EXPECT_EQ(html_to_text("x < y and <unclosed", 100), "x < y and ");
  EXPECT_EQ(html_to_text("&unknown; &amp &#xZZ; &#99999999;", 100), "&unknown; &amp &#xZZ; &#99999999;");
  EXPECT_EQ(html_to_text("\xe2\x82\xac\xe2\x82\xac", 4), "\xe2\x82\xac");  // never half a character
  std::string wall(1 << 20, 'a');
  EXPECT_EQ(html_to_text(wall, 1000).size(), 1000u);
}

// What a stranger can send: the preview reads a bounded prefix of one part (max_preview_read),
// so a 20 MB HTML part of unclosed tags, or 100,000 nested blockquotes, is read no further
// than that: what lies past it never shows, what lies just before it does.
TEST(Preview, HostileHtmlIsReadOnlyToItsBound) {
  std::string tags = "Content-Type: text/html\n\n";
  for (int i = 0; i < 2'000'000; ++i) tags += "<a href='";
  EXPECT_EQ(preview(tags), "");
  std::string nested = "Content-Type: text/html\n\n";
  for (int i = 0; i < 100'000; ++i) nested += "<blockquote>";
  EXPECT_EQ(preview(nested + "deep"), "");
  auto styled = [](std::size_t style_bytes) {
    std::string body = "<style>" + std::string(style_bytes, 'x') + "</style>visible";
    return "Content-Type: text/html\n\n" + body;
  };
  const auto bound = Limits{}.max_preview_read;
  EXPECT_EQ(preview(styled(bound - 100)), "visible");
  EXPECT_EQ(preview(styled(bound)), "");
  const Limits small{.max_preview_read = 4096};
  EXPECT_EQ(preview(styled(4000), kMaxPreviewChars, small), "visible");
  EXPECT_EQ(preview(styled(4096), kMaxPreviewChars, small), "");
}

}  // namespace
}  // namespace mailstead::mime
