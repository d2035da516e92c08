// The milter protocol's packets, replies and message changes (common/milter/protocol), with
// bytes laid out as Sendmail's libmilter writes and reads them (include/libmilter/mfdef.h).

#include <gtest/gtest.h>

#include "common/config/config.hpp"
#include "common/milter/protocol.hpp"
#include "smtpd/milters.hpp"

namespace mailstead::milter {
namespace {

using namespace std::string_literals;

std::string be32(std::uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

Reply reply_of(char command, std::string data) {
  auto parsed = parse_reply(Packet{command, std::move(data)});
  EXPECT_TRUE(std::holds_alternative<Reply>(parsed)) << std::get<BadPacket>(parsed).why;
  return std::get<Reply>(parsed);
}

std::string bad_reply(char command, std::string data) {
  auto parsed = parse_reply(Packet{command, std::move(data)});
  EXPECT_TRUE(std::holds_alternative<BadPacket>(parsed));
  return std::holds_alternative<BadPacket>(parsed) ? std::get<BadPacket>(parsed).why : "";
}

TEST(MilterPackets, FramesAreALengthInNetworkOrderThenTheCommand) {
  EXPECT_EQ(packet('Q', ""), be32(1) + "Q");
  EXPECT_EQ(options_packet(6, 0x3f, 0x1fffff), be32(13) + "O" + be32(6) + be32(0x3f) + be32(0x1fffff));
  EXPECT_EQ(header_packet("Subject", "hi"), be32(12) + "L" + "Subject\0hi\0"s);
  EXPECT_EQ(strings_packet('M', {"<a@b>", "SIZE=10"}), be32(15) + "M" + "<a@b>\0SIZE=10\0"s);
  EXPECT_EQ(macro_packet('M', {{"i", "q1"}, {"{auth_authen}", "u"}}), be32(23) + "DM" + "i\0q1\0{auth_authen}\0u\0"s);
}

TEST(MilterPackets, ConnectCarriesFamilyPortAndAddress) {
  EXPECT_EQ(connect_packet("mx.example", Peer{'4', 25, "192.0.2.1"}),
            be32(25) + "C" + "mx.example\0"s + "4\x00\x19"s + "192.0.2.1\0"s);
  // A local program: no port.
  EXPECT_EQ(connect_packet("localhost", Peer{'U', 0, "/run/s"}), be32(19) + "C" + "localhost\0U/run/s\0"s);
}

TEST(MilterPackets, NulInsideAStringCannotShiftTheFieldsAfterIt) {
  EXPECT_EQ(strings_packet('H', {"evil\0.example"s}), be32(14) + "H" + "evil.example\0"s);
}

TEST(MilterFrames, WaitsForTheWholePacket) {
  auto p = header_packet("a", "b");
  for (std::size_t n = 0; n < p.size(); ++n)
    EXPECT_TRUE(std::holds_alternative<NeedMore>(frame(std::string_view(p).substr(0, n)))) << n;
  auto framed = frame(p + "trailing");
  ASSERT_TRUE(std::holds_alternative<Framed>(framed));
  EXPECT_EQ(std::get<Framed>(framed).size, p.size());
  EXPECT_EQ(std::get<Framed>(framed).packet.command, 'L');
  EXPECT_EQ(std::get<Framed>(framed).packet.data, "a\0b\0"s);
}

TEST(MilterFrames, RefusesEmptyAndOversizedPackets) {
  EXPECT_TRUE(std::holds_alternative<BadPacket>(frame(be32(0))));
  // Refused from the length alone: nothing waits for a gigabyte to arrive.
  EXPECT_TRUE(std::holds_alternative<BadPacket>(frame(be32(1u << 30) + "b")));
  EXPECT_TRUE(std::holds_alternative<BadPacket>(frame(be32(kMaxPacket + 1))));
}

TEST(MilterReplies, Negotiation) {
  auto r = reply_of('O', be32(6) + be32(action::kAddHeaders | action::kQuarantine) + be32(step::kNoHelo));
  const auto& n = std::get<Negotiated>(r);
  EXPECT_EQ(n.version, 6u);
  EXPECT_EQ(n.actions, action::kAddHeaders | action::kQuarantine);
  EXPECT_EQ(n.steps, step::kNoHelo);
  for (const auto& m : n.macros) EXPECT_FALSE(m.has_value());
}

TEST(MilterReplies, NegotiationWithMacroLists) {
  auto r = reply_of(
      'O', be32(6) + be32(0) + be32(0) + be32(2) + "i {auth_authen}\0"s + be32(5) + "j\0"s + be32(99) + "ignored\0"s);
  const auto& n = std::get<Negotiated>(r);
  ASSERT_TRUE(n.macros[2].has_value());
  EXPECT_EQ(*n.macros[2], (std::vector<std::string>{"i", "{auth_authen}"}));
  ASSERT_TRUE(n.macros[5].has_value());
  EXPECT_EQ(*n.macros[5], std::vector<std::string>{"j"});
  bad_reply('O', be32(6) + be32(0));
  bad_reply('O', be32(6) + be32(0) + be32(0) + be32(2) + "no terminator");
}

TEST(MilterReplies, Verdicts) {
  EXPECT_EQ(std::get<Verdict>(reply_of('a', "")).decision, Decision::accept);
  EXPECT_EQ(std::get<Verdict>(reply_of('c', "")).decision, Decision::proceed);
  EXPECT_EQ(std::get<Verdict>(reply_of('r', "")).decision, Decision::reject);
  EXPECT_EQ(std::get<Verdict>(reply_of('t', "")).decision, Decision::tempfail);
  EXPECT_EQ(std::get<Verdict>(reply_of('d', "")).decision, Decision::discard);
  EXPECT_EQ(std::get<Verdict>(reply_of('s', "")).decision, Decision::skip);
  EXPECT_EQ(std::get<Verdict>(reply_of('f', "")).decision, Decision::tempfail);
  EXPECT_TRUE(std::holds_alternative<Progress>(reply_of('p', "")));
  EXPECT_EQ(std::get<AddRecipient>(reply_of('+', "<x@y>\0"s)).address, "<x@y>");
  EXPECT_EQ(std::get<DeleteRecipient>(reply_of('-', "<x@y>\0"s)).address, "<x@y>");
  EXPECT_TRUE(std::holds_alternative<Unsupported>(reply_of('e', "<x@y>\0"s)));
  bad_reply('+', "\0"s);
  bad_reply('-', "<a@b>\0<c@d>\0"s);
  bad_reply('Z', "");
}

TEST(MilterReplies, CustomReplies) {
  auto r = std::get<CustomReply>(reply_of('y', "554 5.7.1 Spam message rejected\0"s));
  EXPECT_EQ(r.code, 554u);
  EXPECT_EQ(r.enhanced, "5.7.1");
  EXPECT_EQ(r.lines, std::vector<std::string>{"Spam message rejected"});

  auto plain = std::get<CustomReply>(reply_of('y', "451 Try again later\0"s));
  EXPECT_EQ(plain.code, 451u);
  EXPECT_EQ(plain.enhanced, "");
  EXPECT_EQ(plain.lines, std::vector<std::string>{"Try again later"});

  // smfi_setmlreply: several lines, each with the code.
  auto multi = std::get<CustomReply>(reply_of('y', "550-5.7.1 first\r\n550 5.7.1 second\0"s));
  EXPECT_EQ(multi.lines, (std::vector<std::string>{"first", "second"}));

  bad_reply('y', "250 2.0.0 OK\0"s);  // a filter refuses; it cannot make a refusal an OK
  bad_reply('y', "55 short\0"s);
  bad_reply('y', "550-a\r\n551 b\0"s);    // codes that differ
  bad_reply('y', "550-a\0"s);             // a last line that says more follows
  bad_reply('y', "550 a\r\n550 b\0"s);    // more after a last line
  bad_reply('y', "550 bad\x01 text\0"s);  // control characters would reach the client
  bad_reply('y', "550 no terminator"s);
}

TEST(MilterReplies, Changes) {
  auto add = std::get<AddHeader>(reply_of('h', "X-Spam\0Yes\0"s));
  EXPECT_EQ(add.name, "X-Spam");
  EXPECT_EQ(add.value, "Yes");
  auto insert = std::get<InsertHeader>(reply_of('i', be32(0) + "X-First\0v\0"s));
  EXPECT_EQ(insert.index, 0u);
  auto change = std::get<ChangeHeader>(reply_of('m', be32(2) + "Subject\0new\0"s));
  EXPECT_EQ(change.index, 2u);
  EXPECT_EQ(change.name, "Subject");
  EXPECT_EQ(std::get<ReplaceBody>(reply_of('b', "new body\r\n")).chunk, "new body\r\n");
  EXPECT_EQ(std::get<Quarantine>(reply_of('q', "spam\0"s)).reason, "spam");
  bad_reply('h', "X-Spam\0"s);
  bad_reply('m', "ab");
  bad_reply('q', "no terminator");
}

TEST(MilterHeader, FieldsAreSentWithLfFolds) {
  auto fields = header_fields("Subject:  two\r\n words\r\nX-Empty:\r\nnot a field\r\nTo: a@b\r\n\r\n");
  ASSERT_EQ(fields.size(), 3u);
  EXPECT_EQ(fields[0].first, "Subject");
  EXPECT_EQ(fields[0].second, "two\n words");
  EXPECT_EQ(fields[1].second, "");
  EXPECT_EQ(fields[2].second, "a@b");
}

const EditLimits kLimits{64 * 1024, 1 << 20};

std::string applied(std::string_view message, const Edits& edits) {
  auto out = apply(message, edits, kLimits);
  EXPECT_TRUE(std::holds_alternative<std::string>(out)) << std::get<EditError>(out).why;
  return std::holds_alternative<std::string>(out) ? std::get<std::string>(out) : "";
}

const std::string kMessage = "Received: x\r\nSubject: one\r\nTo: a@b\r\nSubject: two\r\n\r\nbody\r\n";

TEST(MilterEdits, AddGoesBelowTheLastField) {
  Edits e;
  e.header.emplace_back(AddHeader{"X-Spam", "Yes"});
  EXPECT_EQ(applied(kMessage, e),
            "Received: x\r\nSubject: one\r\nTo: a@b\r\nSubject: two\r\nX-Spam: Yes\r\n\r\nbody\r\n");
}

TEST(MilterEdits, InsertCountsFields) {
  Edits e;
  e.header.emplace_back(InsertHeader{0, "X-Top", "1"});
  e.header.emplace_back(InsertHeader{2, "X-Third", "3"});
  e.header.emplace_back(InsertHeader{100, "X-Last", "9"});
  EXPECT_EQ(
      applied(kMessage, e),
      "X-Top: 1\r\nReceived: x\r\nX-Third: 3\r\nSubject: one\r\nTo: a@b\r\nSubject: two\r\nX-Last: 9\r\n\r\nbody\r\n");
}

TEST(MilterEdits, ChangeTheNthOfANameOrRemoveIt) {
  Edits e;
  e.header.emplace_back(ChangeHeader{2, "subject", "changed\n\tfolded"});
  e.header.emplace_back(ChangeHeader{1, "Received", ""});
  e.header.emplace_back(ChangeHeader{1, "X-Missing", "added"});  // libmilter: a missing field is added
  e.header.emplace_back(ChangeHeader{3, "Subject", ""});         // nothing to remove
  EXPECT_EQ(applied(kMessage, e),
            "Subject: one\r\nTo: a@b\r\nsubject: changed\r\n\tfolded\r\nX-Missing: added\r\n\r\nbody\r\n");
}

TEST(MilterEdits, BodyReplacedWithCrlfLines) {
  Edits e;
  e.body = "line one\nline two\r\nthree";
  EXPECT_EQ(applied(kMessage, e),
            "Received: x\r\nSubject: one\r\nTo: a@b\r\nSubject: two\r\n\r\nline one\r\nline two\r\nthree");
  // A message that had no body gets its blank line.
  EXPECT_EQ(applied("Subject: s\r\n", e), "Subject: s\r\n\r\nline one\r\nline two\r\nthree");
}

TEST(MilterEdits, ValuesThatWouldMakeAFieldOfTheirOwnAreRefused) {
  for (auto value : {"a\nBcc: victim@example"s, "a\r\nX: y"s, "bare\rcr"s, "nul\0x"s, "ends in fold\n"s}) {
    Edits e;
    e.header.emplace_back(AddHeader{"X-Test", value});
    EXPECT_TRUE(std::holds_alternative<EditError>(apply(kMessage, e, kLimits))) << value;
  }
  for (auto name : {""s, "Two words"s, "Colon:"s, "Ctl\x01"s}) {
    Edits e;
    e.header.emplace_back(AddHeader{name, "v"});
    EXPECT_TRUE(std::holds_alternative<EditError>(apply(kMessage, e, kLimits))) << name;
  }
}

TEST(MilterEdits, ResultsPastTheLimitsAreRefused) {
  Edits big_header;
  big_header.header.emplace_back(AddHeader{"X-Big", std::string(70 * 1024, 'a')});
  EXPECT_TRUE(std::holds_alternative<EditError>(apply(kMessage, big_header, kLimits)));
  Edits big_body;
  big_body.body = std::string((1 << 20) + 1, 'b');
  EXPECT_TRUE(std::holds_alternative<EditError>(apply(kMessage, big_body, kLimits)));
}

}  // namespace
}  // namespace mailstead::milter

namespace mailstead::smtp {
namespace {

TEST(MilterJunk, HeadersCompareWithoutCaseOrSpace) {
  std::vector<std::string> junk{"X-Spam: Yes", "X-Spam-Flag: YES"};
  EXPECT_TRUE(is_junk_header(junk, "x-spam", " yes"));
  EXPECT_TRUE(is_junk_header(junk, "X-Spam-Flag", "YES"));
  EXPECT_FALSE(is_junk_header(junk, "X-Spam", "No"));
  EXPECT_FALSE(is_junk_header(junk, "X-Spam-Status", "Yes"));
  EXPECT_FALSE(is_junk_header({}, "X-Spam", "Yes"));
}

TEST(MilterConfig, Addresses) {
  auto inet = config::parse_milter_address("inet:127.0.0.1:11332");
  ASSERT_TRUE(inet);
  EXPECT_EQ(inet->host, "127.0.0.1");
  EXPECT_EQ(inet->port, 11332u);
  EXPECT_EQ(inet->to_string(), "inet:127.0.0.1:11332");
  auto bare = config::parse_milter_address("rspamd:11332");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->host, "rspamd");
  auto v6 = config::parse_milter_address("inet:[::1]:8891");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->to_string(), "inet:[::1]:8891");
  auto unix_socket = config::parse_milter_address("unix:/run/clamav/clamav-milter.ctl");
  ASSERT_TRUE(unix_socket);
  EXPECT_EQ(unix_socket->path, "/run/clamav/clamav-milter.ctl");
  for (auto bad : {"", "inet:", "inet:host", "host:0", "host:70000", "host:12x", "unix:relative",
                   "unix:", "inet:bad host:1", "inet::25"})
    EXPECT_FALSE(config::parse_milter_address(bad)) << bad;
}

}  // namespace
}  // namespace mailstead::smtp
