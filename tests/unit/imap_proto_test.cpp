// The pure parts of mailstead-imapd: command parser, literal announcements, sequence sets,
// LIST patterns, FETCH sections, SEARCH evaluation, the selected mailbox's numbering.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <random>

#include "common/mime/decode.hpp"
#include "imapd/proto/command.hpp"
#include "imapd/proto/command_reader.hpp"
#include "imapd/proto/list_match.hpp"
#include "imapd/proto/mailbox_view.hpp"
#include "imapd/proto/response.hpp"
#include "imapd/proto/search.hpp"
#include "imapd/proto/sections.hpp"

using namespace mailstead;
using namespace mailstead::imap;
using namespace std::string_literals;

namespace {

Command parse_ok(std::string_view bytes) {
  auto parsed = parse_command(bytes);
  if (auto* e = std::get_if<ParseError>(&parsed)) ADD_FAILURE() << bytes << ": " << e->text;
  return std::get<Command>(parsed);
}

ParseError parse_bad(std::string_view bytes) {
  auto parsed = parse_command(bytes);
  EXPECT_TRUE(std::holds_alternative<ParseError>(parsed)) << bytes;
  return std::holds_alternative<ParseError>(parsed) ? std::get<ParseError>(parsed) : ParseError{};
}

}  // namespace

TEST(ImapTable, EachStateAcceptsItsCommands) {
  auto arguments = [](std::string_view line) { return parse_ok(std::string(line) + "\r\n").arguments; };
  const auto none = State::not_authenticated;
  const auto authenticated = State::authenticated;
  const auto selected = State::selected;
  for (auto line : {"a CAPABILITY", "a NOOP", "a LOGOUT", "a ID NIL"})
    for (auto state : {none, authenticated, selected}) EXPECT_TRUE(allowed(state, arguments(line))) << line;
  for (auto line : {"a STARTTLS", "a LOGIN u p", "a AUTHENTICATE PLAIN"}) {
    EXPECT_TRUE(allowed(none, arguments(line))) << line;
    EXPECT_FALSE(allowed(authenticated, arguments(line))) << line;
    EXPECT_FALSE(allowed(selected, arguments(line))) << line;
    EXPECT_TRUE(before_login_only(arguments(line))) << line;
  }
  for (auto line :
       {"a ENABLE X", "a SELECT INBOX", "a EXAMINE INBOX", "a CREATE x", "a DELETE x", "a RENAME x y", "a SUBSCRIBE x",
        "a UNSUBSCRIBE x", "a LIST \"\" *", "a LSUB \"\" *", "a NAMESPACE", "a STATUS INBOX (MESSAGES)", "a IDLE",
        "a GETQUOTA \"\"", "a GETQUOTAROOT INBOX", "a SETQUOTA \"\" (STORAGE 1)"}) {
    EXPECT_FALSE(allowed(none, arguments(line))) << line;
    EXPECT_TRUE(allowed(authenticated, arguments(line))) << line;
    EXPECT_TRUE(allowed(selected, arguments(line))) << line;
    EXPECT_FALSE(before_login_only(arguments(line))) << line;
  }
  for (auto line :
       {"a CHECK", "a CLOSE", "a UNSELECT", "a EXPUNGE", "a UID EXPUNGE 1", "a SEARCH ALL", "a FETCH 1 FLAGS",
        "a UID FETCH 1 FLAGS", "a STORE 1 +FLAGS (x)", "a COPY 1 x", "a MOVE 1 x", "a UID MOVE 1 x"}) {
    EXPECT_FALSE(allowed(none, arguments(line))) << line;
    EXPECT_FALSE(allowed(authenticated, arguments(line))) << line;
    EXPECT_TRUE(allowed(selected, arguments(line))) << line;
  }
}

TEST(ImapTable, EachNameHasItsOwnType) {
  EXPECT_TRUE(std::holds_alternative<Examine>(parse_ok("a EXAMINE INBOX\r\n").arguments));
  EXPECT_TRUE(std::holds_alternative<Select>(parse_ok("a SELECT INBOX\r\n").arguments));
  auto unsubscribe = std::get<Unsubscribe>(parse_ok("a UNSUBSCRIBE x\r\n").arguments);
  EXPECT_FALSE(unsubscribe.subscribe);
  EXPECT_TRUE(std::get<Lsub>(parse_ok("a LSUB \"\" *\r\n").arguments).lsub);
  auto move = parse_ok("a UID MOVE 1:3 Trash\r\n");
  EXPECT_TRUE(move.uid);
  EXPECT_EQ(move.name, "UID MOVE");
  EXPECT_TRUE(std::get<Move>(move.arguments).move);
  EXPECT_EQ(parse_bad("a UID SELECT INBOX\r\n").text, "Unknown UID command");  // no UID form
  EXPECT_EQ(parse_bad("a FROB\r\n").text, "Missing arguments");
  EXPECT_EQ(parse_bad("a FROB x\r\n").text, "Unknown command");
}

// The plain definition of a LIST pattern (RFC 9051 §6.3.9), by backtracking: what the
// bounded matcher must agree with.
bool reference_match(std::string_view name, std::string_view pattern, char separator) {
  if (pattern.empty()) return name.empty();
  char c = pattern.front();
  if (c == '*' || c == '%') {
    for (std::size_t k = 0; k <= name.size(); ++k) {
      if (reference_match(name.substr(k), pattern.substr(1), separator)) return true;
      if (k < name.size() && c == '%' && name[k] == separator) return false;
    }
    return false;
  }
  return !name.empty() && name.front() == c && reference_match(name.substr(1), pattern.substr(1), separator);
}

TEST(ImapList, PatternsAgreeWithTheDefinition) {
  std::uint32_t seed = 12345;
  auto next = [&seed](std::uint32_t n) {
    seed = seed * 1103515245 + 12345;
    return (seed >> 16) % n;
  };
  const std::string_view alphabet = "ab/*%";
  for (int round = 0; round < 20000; ++round) {
    std::string name, pattern;
    for (auto n = next(7); n > 0; --n) name += alphabet[next(3)];
    for (auto n = next(7); n > 0; --n) pattern += alphabet[next(5)];
    EXPECT_EQ(matches_pattern(name, pattern, '/'), reference_match(name, pattern, '/')) << name << " ~ " << pattern;
  }
}

// Names LIST and LSUB answer with, rendered "name[flags]": s subscribed, m a mailbox,
// c CHILDINFO / a subscribed name below that the pattern does not reach.
std::vector<std::string> selected(const std::vector<std::string>& mailboxes, const std::vector<std::string>& subs,
                                  const std::string& pattern, ListSelection selection) {
  std::vector<std::string> out;
  std::vector<std::string> patterns{pattern};
  for (const auto& n : select_names(mailboxes, subs, patterns, selection, '/'))
    out.push_back(n.name + "[" + (n.subscribed ? "s" : "") + (n.mailbox ? "m" : "") + (n.subscribed_below ? "c" : "") +
                  "]");
  return out;
}

TEST(ImapList, SubscriptionsSelection) {
  // "Gone" was deleted while subscribed; "Foo" is not subscribed, "Foo/Bar" is; "Top/Mid/Leaf"
  // is subscribed and none of its parents is a mailbox or subscribed.
  std::vector<std::string> mailboxes{"INBOX", "Foo", "Foo/Bar", "Foo/Baz", "Plain"};
  std::vector<std::string> subs{"Foo/Bar", "Gone", "INBOX", "Top/Mid/Leaf"};
  using V = std::vector<std::string>;
  EXPECT_EQ(selected(mailboxes, subs, "*", {}), (V{"INBOX[sm]", "Foo[m]", "Foo/Bar[sm]", "Foo/Baz[m]", "Plain[m]"}));
  // RFC 5258 §3: LIST (SUBSCRIBED) names subscriptions, whether their mailbox exists or not.
  EXPECT_EQ(selected(mailboxes, subs, "*", {.subscribed_only = true}),
            (V{"INBOX[sm]", "Foo/Bar[sm]", "Gone[s]", "Top/Mid/Leaf[s]"}));
  EXPECT_EQ(selected(mailboxes, subs, "%", {.subscribed_only = true}), (V{"INBOX[sm]", "Gone[s]"}));
  // RECURSIVEMATCH adds parents whose subscribed children the pattern does not reach, and no
  // parent of a child that is listed itself.
  EXPECT_EQ(selected(mailboxes, subs, "%", {.subscribed_only = true, .recursive_match = true}),
            (V{"INBOX[sm]", "Foo[mc]", "Gone[s]", "Top[c]"}));
  EXPECT_EQ(selected(mailboxes, subs, "*", {.subscribed_only = true, .recursive_match = true}),
            (V{"INBOX[sm]", "Foo/Bar[sm]", "Gone[s]", "Top/Mid/Leaf[s]"}));
  EXPECT_EQ(selected(mailboxes, subs, "Top/%", {.subscribed_only = true, .recursive_match = true}), (V{"Top/Mid[c]"}));
  // RFC 3501 §6.3.9: LSUB "%" names the unsubscribed parent of a subscribed child instead.
  EXPECT_EQ(selected(mailboxes, subs, "%", {.subscribed_only = true, .lsub = true}),
            (V{"INBOX[sm]", "Foo[mc]", "Gone[s]", "Top[c]"}));
}

TEST(ImapList, HostilePatternsCostOnePassPerStep) {
  // 200,000 wildcards are one step; a pattern with more plain characters than the name has
  // bytes is refused before any walk (issue 16: this took 9 s on one long name).
  std::string name(1000, 'a');
  name += "/b";
  EXPECT_TRUE(matches_pattern(name, std::string(200000, '*'), '/'));
  EXPECT_FALSE(matches_pattern(name, std::string(200000, '%'), '/'));
  EXPECT_TRUE(matches_pattern(name, std::string(100000, '%') + "/b", '/'));
  std::string alternating;
  for (int i = 0; i < 100000; ++i) alternating += "*a";
  EXPECT_FALSE(matches_pattern(name, alternating, '/'));
  std::string fits;
  for (int i = 0; i < 1000; ++i) fits += "%a";
  EXPECT_TRUE(matches_pattern(name, fits + "*", '/'));
}

TEST(ImapParser, LoginWithQuotedAndLiteralStrings) {
  auto c = parse_ok("a1 LOGIN alice \"p\\\"w d\"\r\n");
  EXPECT_EQ(c.tag, "a1");
  EXPECT_EQ(std::get<Login>(c.arguments).password, "p\"w d");
  c = parse_ok("a2 login {5}\r\nalice {3+}\r\nx y\r\n");
  EXPECT_EQ(std::get<Login>(c.arguments).user, "alice");
  EXPECT_EQ(std::get<Login>(c.arguments).password, "x y");
}

TEST(ImapParser, RefusesMalformedInput) {
  EXPECT_EQ(parse_bad("a1 LOGIN \"unterminated\r\n").tag, "a1");
  EXPECT_EQ(parse_bad("\r\n").tag, "");
  parse_bad("a1 FROB\r\n");
  parse_bad("a1 NOOP extra\r\n");
  parse_bad("a1 FETCH 0 FLAGS\r\n");
  parse_bad("a1 FETCH 1 BODY[1.0]\r\n");
  parse_bad("a1 APPEND INBOX {10}\r\nshort\r\n");
  parse_bad("a1 SEARCH SUBJECT \"a\0b\"\r\n");
  parse_bad(std::string("a1 SEARCH ") + std::string(1000, '(') + "ALL" + std::string(1000, ')') + "\r\n");
  parse_bad("a1 LOGIN a b");  // no CRLF
  parse_bad("+ NOOP\r\n");
}

TEST(ImapParser, QuotaCommands) {
  EXPECT_EQ(std::get<GetQuota>(parse_ok("a GETQUOTA \"\"\r\n").arguments).root, "");
  EXPECT_EQ(std::get<GetQuotaRoot>(parse_ok("a GETQUOTAROOT INBOX\r\n").arguments).mailbox, "INBOX");
  auto set = std::get<SetQuota>(parse_ok("a SETQUOTA \"\" (storage 512 MESSAGE 100)\r\n").arguments);
  EXPECT_EQ(set.limits, (std::vector<std::pair<std::string, std::uint64_t>>{{"STORAGE", 512}, {"MESSAGE", 100}}));
  EXPECT_TRUE(std::get<SetQuota>(parse_ok("a SETQUOTA \"\" ()\r\n").arguments).limits.empty());
  parse_bad("a SETQUOTA \"\" (STORAGE)\r\n");
  parse_bad("a SETQUOTA \"\" STORAGE 5\r\n");
  parse_bad("a GETQUOTAROOT\r\n");
}

TEST(ImapParser, MetadataCommands) {
  auto get = std::get<GetMetadata>(
      parse_ok("a GETMETADATA (MAXSIZE 1024 DEPTH infinity) \"\" (/shared/comment /Private/Vendor/vendor.x)\r\n")
          .arguments);
  EXPECT_EQ(get.mailbox, "");
  EXPECT_EQ(get.max_size, 1024u);
  EXPECT_EQ(get.depth, GetMetadata::Depth::infinity);
  EXPECT_EQ(get.entries, (std::vector<std::string>{"/shared/comment", "/Private/Vendor/vendor.x"}));
  // The order of RFC 5464's examples: options after the mailbox.
  auto after = std::get<GetMetadata>(parse_ok("a GETMETADATA INBOX (DEPTH 1) (/private/comment)\r\n").arguments);
  EXPECT_EQ(after.depth, GetMetadata::Depth::one);
  EXPECT_EQ(after.entries, std::vector<std::string>{"/private/comment"});
  auto set = std::get<SetMetadata>(
      parse_ok("a SETMETADATA INBOX (/private/comment \"x\" /shared/comment NIL /shared/bin ~{3}\r\na\0b)\r\n"s)
          .arguments);
  ASSERT_EQ(set.entries.size(), 3u);
  EXPECT_EQ(set.entries[0].second, "x");
  EXPECT_EQ(set.entries[1].second, std::nullopt);
  EXPECT_EQ(set.entries[2].second, "a\0b"s);
  parse_bad("a GETMETADATA (DEPTH 2) INBOX /private/comment\r\n");
  parse_bad("a GETMETADATA (COLOUR 1) INBOX /private/comment\r\n");
  parse_bad("a SETMETADATA INBOX /private/comment \"x\"\r\n");
  parse_bad("a SETMETADATA INBOX (/private/comment)\r\n");
}

TEST(ImapCommandReader, CommandsThatCarryMessages) {
  EXPECT_TRUE(carries_messages("a APPEND INBOX {5}"));
  EXPECT_TRUE(carries_messages("a append INBOX (\\Seen) {5}"));
  EXPECT_TRUE(carries_messages("a UID REPLACE 4 Drafts {5}"));
  EXPECT_TRUE(carries_messages("a REPLACE 4 Drafts {5}"));
  EXPECT_FALSE(carries_messages("a SETMETADATA INBOX (/private/x {5}"));
  EXPECT_FALSE(carries_messages("a UID SEARCH SUBJECT {5}"));
  EXPECT_FALSE(carries_messages("a LOGIN {5}"));
  EXPECT_FALSE(carries_messages("APPEND"));
  EXPECT_FALSE(carries_messages(""));
}

TEST(ImapParser, MetadataEntryNames) {
  for (auto good : {"/private/comment", "/shared/comment", "/SHARED/Comment", "/private/vendor/vendor.dovecot/a/b",
                    "/shared/vendor/x", "/private/a-b_c.d"})
    EXPECT_TRUE(valid_metadata_entry(good)) << good;
  for (auto bad : {"", "/comment", "/private", "/private/", "/private//x", "/private/x/", "/private/a*", "/shared/50%",
                   "/private/vendor", "/other/x", "private/x", "/private/caf\xc3\xa9", "/private/a\x01"})
    EXPECT_FALSE(valid_metadata_entry(bad)) << bad;
  EXPECT_TRUE(valid_metadata_entry("/private/" + std::string(kMaxMetadataEntryName - 9, 'a')));
  EXPECT_FALSE(valid_metadata_entry("/private/" + std::string(kMaxMetadataEntryName - 8, 'a')));
}

TEST(ImapParser, SelectWithQresyncParameters) {
  auto q = std::get<Select>(parse_ok("a SELECT INBOX (QRESYNC (67890007 20050715194045000))\r\n").arguments).qresync;
  ASSERT_TRUE(q);
  EXPECT_EQ(q->uid_validity, 67890007u);
  EXPECT_EQ(q->modseq, 20050715194045000u);
  EXPECT_FALSE(q->known_uids);
  q = std::get<Select>(
          parse_ok("a SELECT INBOX (QRESYNC (67890007 90060115194045000 41:211,214:541) CONDSTORE)\r\n").arguments)
          .qresync;
  ASSERT_TRUE(q);
  EXPECT_EQ(q->known_uids, parse_sequence_set("41:211,214:541"));
  auto select = std::get<Examine>(parse_ok("a EXAMINE INBOX (QRESYNC (1 2 1:100 (1,5,9 10,50,90)))\r\n").arguments);
  EXPECT_TRUE(select.read_only);
  EXPECT_EQ(select.qresync->known_uids, parse_sequence_set("1:100"));
  EXPECT_TRUE(std::get<Select>(parse_ok("a SELECT INBOX (QRESYNC (1 2 (1 10)))\r\n").arguments).qresync);
  parse_bad("a SELECT INBOX (QRESYNC (0 2))\r\n");          // UIDVALIDITY is never 0
  parse_bad("a SELECT INBOX (QRESYNC (1))\r\n");            // no modseq
  parse_bad("a SELECT INBOX (QRESYNC (1 2 $))\r\n");        // known UIDs must be given
  parse_bad("a SELECT INBOX (QRESYNC (1 2 1:5 (1)))\r\n");  // match data comes in pairs
  parse_bad("a SELECT INBOX (QRESYNC 1 2)\r\n");
  auto fetch = std::get<Fetch>(parse_ok("a UID FETCH 300:500 (FLAGS) (CHANGEDSINCE 12345 VANISHED)\r\n").arguments);
  EXPECT_EQ(fetch.request.changed_since, 12345u);
  EXPECT_TRUE(fetch.request.vanished);
}

TEST(ImapParser, FetchItems) {
  auto c = parse_ok("t UID FETCH 1:* (FLAGS BODY.PEEK[1.2.HEADER.FIELDS (From To)]<0.100> BINARY[2] RFC822)\r\n");
  EXPECT_TRUE(c.uid);
  EXPECT_EQ(c.name, "UID FETCH");
  const auto& f = std::get<Fetch>(c.arguments);
  ASSERT_EQ(f.request.items.size(), 4u);
  const auto& section = f.request.items[1];
  EXPECT_TRUE(section.peek);
  EXPECT_EQ(section.section.part, (std::vector<std::uint32_t>{1, 2}));
  EXPECT_EQ(section.section.text, Section::Text::header_fields);
  EXPECT_EQ(section.section.fields, (std::vector<std::string>{"From", "To"}));
  EXPECT_EQ(section.partial->length, 100u);
  EXPECT_EQ(section_name(section.section), "1.2.HEADER.FIELDS (FROM TO)");
  EXPECT_EQ(f.request.items[2].kind, FetchItem::Kind::binary);
  EXPECT_FALSE(f.request.items[3].peek);
  EXPECT_TRUE(sets_seen(f.request));
  EXPECT_EQ(std::get<Fetch>(parse_ok("t FETCH 2 ALL\r\n").arguments).request.items.size(), 4u);
}

TEST(ImapParser, SearchKeys) {
  auto c = parse_ok("t SEARCH RETURN (MIN COUNT) CHARSET utf-8 OR (FROM bob SINCE 1-Jan-2020) NOT UID 5:* 1,3\r\n");
  const auto& r = std::get<Search>(c.arguments).request;
  EXPECT_TRUE(r.extended);
  EXPECT_EQ(r.returns, SearchRequest::kMin | SearchRequest::kCount);
  EXPECT_EQ(r.charset, "UTF-8");
  ASSERT_EQ(r.key.children.size(), 2u);  // OR takes the list and NOT UID 5:*
  EXPECT_EQ(r.key.children[0].kind, SearchKey::Kind::or_);
  EXPECT_EQ(r.key.children[0].children[0].children[1].day, 18262);  // 2020-01-01
  EXPECT_EQ(r.key.children[0].children[1].kind, SearchKey::Kind::not_);
  EXPECT_EQ(r.key.children[1].kind, SearchKey::Kind::sequence);
}

TEST(ImapParser, AppendStoreListAndDates) {
  auto c = parse_ok("t APPEND Drafts (\\Draft $x) \" 4-Jul-2026 10:00:00 +0200\" {5}\r\nhello\r\n");
  const auto& a = std::get<Append>(c.arguments);
  ASSERT_EQ(a.messages.size(), 1u);
  EXPECT_EQ(a.messages[0].message, "hello");
  EXPECT_EQ(a.messages[0].flags, (std::vector<std::string>{"\\Draft", "$x"}));
  EXPECT_EQ(*parse_date_time(*a.messages[0].date), 1783152000);  // 08:00 UTC
  parse_bad("t APPEND Drafts \"32-Jul-2026 10:00:00 +0200\" {1}\r\nx\r\n");
  // MULTIAPPEND (RFC 3502): each message with its own flags and date
  auto multi = std::get<Append>(
      parse_ok("t APPEND Sent {1}\r\na (\\Seen) {1+}\r\nb \" 4-Jul-2026 10:00:00 +0200\" UTF8 (~{1}\r\nc)\r\n")
          .arguments);
  ASSERT_EQ(multi.messages.size(), 3u);
  EXPECT_EQ(multi.messages[0].message, "a");
  EXPECT_TRUE(multi.messages[0].flags.empty());
  EXPECT_EQ(multi.messages[1].flags, (std::vector<std::string>{"\\Seen"}));
  EXPECT_EQ(multi.messages[2].message, "c");
  EXPECT_TRUE(multi.messages[2].date);
  parse_bad("t APPEND Sent {1}\r\na \r\n");          // a space and then nothing
  parse_bad("t APPEND Sent {1}\r\na (\\Seen)\r\n");  // flags without a message
  parse_bad("t APPEND Sent\r\n");
  auto s = std::get<Store>(parse_ok("t STORE 1 -FLAGS.SILENT \\Seen \\Deleted\r\n").arguments);
  EXPECT_EQ(s.operation, Store::Operation::remove);
  EXPECT_TRUE(s.silent);
  EXPECT_EQ(s.flags.size(), 2u);
  auto l = std::get<List>(
      parse_ok("t LIST (SUBSCRIBED) \"\" (INBOX \"Work/%\") RETURN (CHILDREN STATUS (MESSAGES))\r\n").arguments);
  EXPECT_TRUE(l.select_subscribed && l.return_children && l.extended);
  EXPECT_EQ(l.patterns.size(), 2u);
  EXPECT_EQ(l.return_status, (std::vector<std::string>{"MESSAGES"}));
}

TEST(ImapLiteral, TrailingAnnouncement) {
  EXPECT_EQ(trailing_literal("a APPEND INBOX {12}")->size, 12u);
  EXPECT_TRUE(trailing_literal("a APPEND INBOX {12}")->synchronizing);
  EXPECT_FALSE(trailing_literal("a LOGIN {3+}")->synchronizing);
  EXPECT_EQ(trailing_literal("a APPEND INBOX ~{7}")->size, 7u);
  EXPECT_FALSE(trailing_literal("a LOGIN \"x}\""));
  EXPECT_FALSE(trailing_literal("a LOGIN {}"));
  EXPECT_FALSE(trailing_literal("a LOGIN {99999999999999999999999}"));
  EXPECT_FALSE(trailing_literal("}"));
}

TEST(ImapSequence, ResolveAndFormat) {
  auto set = *parse_sequence_set("5:*,1,3:2");
  EXPECT_EQ(resolve(set, 6), (std::vector<Interval>{{1, 3}, {5, 6}}));
  EXPECT_EQ(resolve(set, 0), std::vector<Interval>{});
  EXPECT_EQ(resolve(*parse_sequence_set("10:*"), 4), (std::vector<Interval>{{4, 4}}));
  EXPECT_TRUE(exceeds(*parse_sequence_set("1:7"), 6));
  EXPECT_FALSE(exceeds(*parse_sequence_set("7:*"), 6));
  EXPECT_FALSE(parse_sequence_set("0"));
  EXPECT_FALSE(parse_sequence_set("1:"));
  EXPECT_TRUE(parse_sequence_set("1:4294967295"));
  EXPECT_EQ(format_set({1, 2, 3, 7, 9, 10}), "1:3,7,9:10");
}

TEST(ImapList, Patterns) {
  EXPECT_TRUE(matches_pattern("INBOX", "inbox", '/'));
  EXPECT_TRUE(matches_pattern("Work/Projects/A", "Work/*", '/'));
  EXPECT_FALSE(matches_pattern("Work/Projects/A", "Work/%", '/'));
  EXPECT_TRUE(matches_pattern("Work/Projects", "Work/%", '/'));
  EXPECT_TRUE(matches_pattern("a/b/c", "*/%", '/'));
  EXPECT_FALSE(matches_pattern("Sent", "sent", '/'));
  EXPECT_EQ(list_pattern("Work", "%", '/'), "Work/%");
  EXPECT_EQ(list_pattern("", "*", '/'), "*");
}

TEST(ImapResponse, StringsAndStructures) {
  std::string out;
  append_string(out, "a\"b");
  EXPECT_EQ(out, "\"a\\\"b\"");
  out.clear();
  append_string(out, "caf\xc3\xa9");
  EXPECT_EQ(out, "{5}\r\ncaf\xc3\xa9");
  out.clear();
  append_string(out, "caf\xc3\xa9", true);
  EXPECT_EQ(out, "\"caf\xc3\xa9\"");
  out.clear();
  append_astring(out, "NIL");
  EXPECT_EQ(out, "\"NIL\"");
  const std::vector<std::string> keywords{"$Work"};
  EXPECT_EQ(flag_list(kSeen | kDeleted, keywords, true), "(\\Seen \\Deleted \\Recent $Work)");
  EXPECT_EQ(format_internal_date(0), "01-Jan-1970 00:00:00 +0000");
  std::string message = "Subject: x\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nhi\r\n";
  out.clear();
  append_body_structure(out, mime::parse_message(message), true);
  EXPECT_EQ(out, "(\"text\" \"plain\" (\"CHARSET\" \"utf-8\") NIL NIL \"7bit\" 4 1 NIL NIL NIL NIL)");
}

TEST(ImapSections, PartsHeadersAndEncapsulatedMessages) {
  std::string message =
      "Subject: outer\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n"
      "--B\r\nContent-Type: text/plain\r\n\r\none\r\n"
      "--B\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\nX-A: 1\r\n\r\ninner body\r\n"
      "--B--\r\n";
  auto root = mime::parse_message(message);
  auto get = [&](std::vector<std::uint32_t> part, Section::Text text, std::vector<std::string> fields = {}) {
    Section s;
    s.part = std::move(part);
    s.text = text;
    s.fields = std::move(fields);
    return section_bytes(message, root, s);
  };
  EXPECT_EQ(*get({1}, Section::Text::all), "one");
  EXPECT_EQ(*get({1}, Section::Text::mime), "Content-Type: text/plain\r\n\r\n");
  EXPECT_EQ(*get({2}, Section::Text::header), "Subject: inner\r\nX-A: 1\r\n\r\n");
  EXPECT_EQ(*get({2}, Section::Text::text), "inner body");
  EXPECT_EQ(*get({2, 1}, Section::Text::all), "inner body");
  EXPECT_EQ(*get({2}, Section::Text::header_fields, {"x-a"}), "X-A: 1\r\n\r\n");
  EXPECT_EQ(*get({}, Section::Text::header_fields_not, {"content-type"}), "Subject: outer\r\n\r\n");
  EXPECT_FALSE(get({3}, Section::Text::all));
  EXPECT_FALSE(get({1}, Section::Text::header));  // not a message/rfc822 part
  EXPECT_EQ(filter_header("A: 1\r\n  folded\r\nB: 2\r\n\r\n", {"a"}, true), "A: 1\r\n  folded\r\n\r\n");
}

TEST(ImapSearch, EvaluatesKeysLazily) {
  std::string message =
      "From: =?ISO-8859-1?Q?Andr=E9?= <andre@example.org>\r\nSubject: Report\r\n"
      "Date: Mon, 2 Mar 2026 09:00:00 +0100\r\nContent-Type: text/plain; charset=utf-8\r\n"
      "Content-Transfer-Encoding: quoted-printable\r\n\r\nZ=C3=9CRICH numbers=\r\n inside\r\n";
  auto root = mime::parse_message(message);
  MessageFacts record;
  record.uid = 7;
  record.flags = kSeen;
  record.size = message.size();
  record.internal_date = 1772445600;  // 2026-03-02 10:00 UTC
  int loads = 0;
  int byte_loads = 0;
  SearchLoader load = [&](SearchMessage& m, SearchNeed need) {
    ++loads;
    m.fields.clear();
    for (const auto& f : root.fields) m.fields.emplace_back(f.name, f.value);
    if (need == SearchNeed::content) {
      ++byte_loads;
      m.structure = &root;
      m.bytes = message;
    }
    return true;
  };
  SearchScope scope{3, 7, {}};
  auto check = [&](std::string_view criteria) {
    auto parsed = parse_command("t SEARCH CHARSET UTF-8 " + std::string(criteria) + "\r\n");
    EXPECT_TRUE(std::holds_alternative<Command>(parsed)) << criteria;
    auto key = std::get<Search>(std::get<Command>(parsed).arguments).request.key;
    prepare_search(key, scope);
    SearchMessage m;
    m.seq = 3;
    m.facts = record;
    return matches(key, m, scope, load);
  };
  EXPECT_TRUE(check("SEEN UID 7 3"));
  EXPECT_EQ(loads, 0);  // flags and numbers never touch the content
  EXPECT_TRUE(check("FROM \"andré\""));
  EXPECT_EQ(byte_loads, 0);  // header keys need only the header fields
  EXPECT_TRUE(check("FROM \"ANDRÉ\""));
  EXPECT_TRUE(check("BODY {7}\r\nzürich"));
  EXPECT_TRUE(check("BODY \"numbers inside\""));
  EXPECT_FALSE(check("BODY elsewhere"));
  EXPECT_TRUE(check("SUBJECT rEPORT BODY NUMBERS"));  // ASCII folded on the fly
  EXPECT_FALSE(check("SUBJECT reports"));
  EXPECT_TRUE(check("SENTON 2-Mar-2026 ON 2-Mar-2026 SINCE 1-Mar-2026 BEFORE 3-Mar-2026"));
  EXPECT_TRUE(check("NOT OR UNSEEN LARGER 100000"));
  EXPECT_TRUE(check("HEADER subject \"\""));
  EXPECT_FALSE(check("HEADER X-Missing \"\""));
  EXPECT_EQ(*sent_day("2 Mar 2026 09:00:00 +0100"), 20514);
}

// A needle that defeats Horspool ("baaa…a" in "aaa…": haystack × needle comparisons, minutes
// for these sizes) is finished in linear time; matches agree with std::string::find either way.
TEST(ImapSearch, SubstringSearchIsLinearForHostileNeedles) {
  std::string message = "Subject: x\r\n\r\n" + std::string(4'000'000, 'a') + "\r\n";
  auto root = mime::parse_message(message);
  SearchLoader load = [&](SearchMessage& m, SearchNeed) {
    m.structure = &root;
    m.bytes = message;
    return true;
  };
  auto body_contains = [&](const std::string& needle) {
    auto parsed = parse_command(fmt::format("t SEARCH CHARSET UTF-8 BODY {{{}}}\r\n{}\r\n", needle.size(), needle));
    auto key = std::get<Search>(std::get<Command>(parsed).arguments).request.key;
    SearchScope scope{1, 1, {}};
    prepare_search(key, scope);
    SearchMessage m;
    m.seq = 1;
    return matches(key, m, scope, load);
  };
  EXPECT_FALSE(body_contains("b" + std::string(60'000, 'a')));
  EXPECT_FALSE(body_contains("\xc3\xa9" + std::string(60'000, 'a')));  // the folded, non-ASCII path
  EXPECT_TRUE(body_contains(std::string(60'000, 'A')));
  std::mt19937 random(7);
  for (int round = 0; round < 2000; ++round) {
    std::string haystack, needle;
    for (int i = 0, n = static_cast<int>(random() % 40); i < n; ++i) haystack += "ab"[random() % 2];
    for (int i = 0, n = 1 + static_cast<int>(random() % 6); i < n; ++i) needle += "ab"[random() % 2];
    message = "Subject: x\r\n\r\n" + haystack;
    root = mime::parse_message(message);
    EXPECT_EQ(body_contains(needle), haystack.find(needle) != std::string::npos) << haystack << " / " << needle;
  }
}

TEST(ImapSearch, TextKeysIgnoreCaseInEveryScript) {
  EXPECT_EQ(fold_case("ŁÓDŹ Straße ΣΟΦΊΑ МОСКВА İstanbul ÅNGSTRÖM"), "łódź straße σοφία москва istanbul ångström");
  EXPECT_EQ(fold_case("ＦＵＬＬ 𐐀"), "ｆｕｌｌ 𐐨");                    // fullwidth, Deseret (4 bytes)
  EXPECT_EQ(fold_case("a\xff\xc3(b\xe2\x82"), "a\xff\xc3(b\xe2\x82");  // not UTF-8: left as written
  EXPECT_EQ(fold_case(""), "");
}

TEST(ImapSearch, StringsOfAnotherCharsetAreConvertedFirst) {
  auto key_of = [](std::string_view criteria) {
    auto parsed = parse_command("t SEARCH " + std::string(criteria) + "\r\n");
    EXPECT_TRUE(std::holds_alternative<Command>(parsed)) << criteria;
    return std::get<Search>(std::get<Command>(parsed).arguments).request;
  };
  auto request = key_of("CHARSET ISO-8859-1 OR SUBJECT {6}\r\nZ\xfcrich NOT BODY {3}\r\n\xc9t\xe9 KEYWORD x");
  EXPECT_EQ(request.charset, "ISO-8859-1");
  ASSERT_TRUE(convert_search_strings(request.key, request.charset));
  const auto& either = request.key.children[0];
  EXPECT_EQ(either.children[0].value, "Zürich");
  EXPECT_EQ(either.children[1].children[0].value, "Été");
  EXPECT_EQ(request.key.children[1].value, "x");  // keywords are atoms, not text
  auto koi = key_of("CHARSET KOI8-R TEXT {6}\r\n\xed\xcf\xd3\xcb\xd7\xc1");
  ASSERT_TRUE(convert_search_strings(koi.key, koi.charset));
  EXPECT_EQ(koi.key.children[0].value, "Москва");
  auto unknown = key_of("CHARSET X-NO-SUCH-CHARSET SUBJECT a");
  EXPECT_FALSE(convert_search_strings(unknown.key, unknown.charset));
}

TEST(ImapDecode, TransferEncodingsAndEncodedWords) {
  EXPECT_EQ(mime::decode_base64("aGVs\r\nbG8="), "hello");
  EXPECT_EQ(mime::decode_quoted_printable("a=3Db=\r\nc =ZZ"), "a=bc =ZZ");
  // RFC 2045 §6.7: trailing white space goes (white space before a soft break stays: the "="
  // protects it); hard line breaks stay as written; "=" at the very end is a soft break.
  EXPECT_EQ(mime::decode_quoted_printable("one  \r\ntwo\t=  \r\nthree=\r\n"), "one\r\ntwo\tthree");
  EXPECT_EQ(mime::decode_quoted_printable("lf only \nnext=\nline"), "lf only\nnextline");
  EXPECT_EQ(mime::decode_quoted_printable("=3d=C3=A9=\r\n=20\r\n"), "=\xC3\xA9 \r\n");
  EXPECT_EQ(mime::decode_quoted_printable("end="), "end");
  EXPECT_EQ(mime::decode_quoted_printable("=4"), "=4");
  EXPECT_FALSE(mime::decode_transfer_encoding("x-uuencode", "x"));
  EXPECT_EQ(mime::decode_header_value("=?UTF-8?B?Y2Fmw6k=?= =?UTF-8?Q?_au_lait?= ok"), "café au lait ok");
  EXPECT_EQ(mime::to_utf8("iso-8859-1", "\xe9"), "\xc3\xa9");
}

TEST(ImapView, RecentMarkedForTheClaimedRangeOnly) {
  MailboxView view({2, 4, 6, 8});
  view.mark_recent(4, 8);  // 8 is UIDNEXT's side of the range: not included
  EXPECT_FALSE(view.is_recent(2));
  EXPECT_TRUE(view.is_recent(4));
  EXPECT_TRUE(view.is_recent(6));
  EXPECT_FALSE(view.is_recent(8));
  EXPECT_EQ(view.recent_count(), 2u);
  view.mark_recent(9, 20);
  EXPECT_EQ(view.recent_count(), 2u);
}

TEST(ImapView, ChangesReportedWhenAllowed) {
  MailboxView view({2, 4, 6});
  EXPECT_EQ(view.by_uid(*parse_sequence_set("3:*")).size(), 2u);
  EXPECT_EQ(view.by_sequence(*parse_sequence_set("2"))[0].uid, 4u);
  view.expunged(4);
  view.appended(9, true);
  view.flags_changed(6);
  auto during_fetch = view.take_updates(false);
  EXPECT_TRUE(during_fetch.expunged.empty());
  EXPECT_EQ(*during_fetch.exists, 4u);  // the expunged one still counts until announced
  EXPECT_EQ(during_fetch.flags, std::vector<Uid>{6});
  auto later = view.take_updates(true);
  EXPECT_EQ(later.expunged, std::vector<std::uint32_t>{2});
  EXPECT_EQ(view.exists(), 3u);
  EXPECT_EQ(*view.seq_of(9), 3u);
  EXPECT_TRUE(view.is_recent(9));
  view.expunged(2);
  view.expunged(6);
  EXPECT_EQ(view.take_updates(true).expunged, (std::vector<std::uint32_t>{1, 1}));
  view.flags_changed(9);
  view.flags_reported(9);  // a FETCH answer carried them already
  EXPECT_TRUE(view.take_updates(true).flags.empty());
  view.appended(11, false);
  view.expunged(11);  // never announced: never existed for the client
  EXPECT_FALSE(view.take_updates(true).exists);
}

TEST(ImapView, ReconciledWithTheStoreWhenTheLogIsGone) {
  MailboxView view({2, 4, 6});
  view.appended(8, false);  // heard of, not yet announced
  auto fresh = view.reconcile({2, 6, 9, 10});
  EXPECT_EQ(fresh, (std::vector<Uid>{9, 10}));
  for (auto uid : fresh) view.appended(uid, false);
  auto updates = view.take_updates(true);
  EXPECT_EQ(updates.expunged_uids, std::vector<Uid>{4});
  EXPECT_EQ(*updates.exists, 4u);  // 2 6 9 10: 8 came and went unannounced
  EXPECT_EQ(*view.seq_of(10), 4u);
}

TEST(ImapSequence, MissingUidsWithinASet) {
  std::vector<Interval> everything{{1, 0xffffffffu}};
  EXPECT_EQ(format_intervals(missing_within({2, 3, 7}, 9, everything)), "1,4:6,8:9");
  EXPECT_EQ(format_intervals(missing_within({1, 2, 3}, 3, everything)), "");
  EXPECT_EQ(format_intervals(missing_within({}, 4, everything)), "1:4");
  EXPECT_EQ(format_intervals(missing_within({}, 0, everything)), "");
  EXPECT_EQ(format_intervals(missing_within({5}, 20, resolve(*parse_sequence_set("3:4,6,10:12,30"), 100))),
            "3:4,6,10:12");
  EXPECT_EQ(format_intervals(missing_within({1, 2, 3, 0xfffffffeu}, 0xffffffffu, {{0xfffffffeu, 0xffffffffu}})),
            "4294967295");
}

TEST(ImapView, EarliestHeldBackExpunge) {
  MailboxView view({1, 2, 3});
  EXPECT_FALSE(view.pending_expunge_modseq());
  view.expunged(3, 40);
  view.expunged(1, 35);
  view.expunged(9, 20);  // not in the view: not held back
  EXPECT_EQ(view.pending_expunge_modseq(), 35u);
  view.take_updates(false);  // FETCH: expunges stay
  EXPECT_EQ(view.pending_expunge_modseq(), 35u);
  view.take_updates(true);
  EXPECT_FALSE(view.pending_expunge_modseq());
  view.expunged(2, 50);
  EXPECT_EQ(view.pending_expunge_modseq(), 50u);  // the earlier ones were told
  MailboxView trimmed({4, 5});
  trimmed.reconcile({5}, 70);  // the log was gone: after what the session had read
  EXPECT_EQ(trimmed.pending_expunge_modseq(), 71u);
}

TEST(ImapView, FlagsCanStayPendingWhileExpungesGo) {
  MailboxView view({1, 2, 3});
  view.expunged(1);
  view.flags_changed(3);
  auto first = view.take_updates(true, false);  // a UID FETCH about to answer with FLAGS
  EXPECT_EQ(first.expunged_uids, std::vector<Uid>{1});
  EXPECT_TRUE(first.flags.empty());
  EXPECT_EQ(view.take_updates(true).flags, std::vector<Uid>{3});
}

namespace mailstead::imap {
namespace {

TEST(ImapSort, BaseSubject) {
  bool reply = false;
  EXPECT_EQ(base_subject("Re: dinner", &reply), "dinner");
  EXPECT_TRUE(reply);
  EXPECT_EQ(base_subject("dinner", &reply), "dinner");
  EXPECT_FALSE(reply);
  EXPECT_EQ(base_subject("[club] Fwd: dinner"), "dinner");
  EXPECT_EQ(base_subject("RE: [list] re [2]:  FW:  dinner  (fwd) (FWD)  "), "dinner");
  EXPECT_EQ(base_subject("[fwd: Re: dinner]", &reply), "dinner");
  EXPECT_TRUE(reply);
  EXPECT_EQ(base_subject("Lunch (fwd)", &reply), "Lunch");
  EXPECT_TRUE(reply);
  // A blob alone is the subject (step 4 keeps it when nothing would be left).
  EXPECT_EQ(base_subject("[only a blob]"), "[only a blob]");
  EXPECT_EQ(base_subject("=?UTF-8?Q?Re:_caf=C3=A9?=\t\r\n  au   lait"), "café au lait");
  EXPECT_EQ(base_subject("Remarks"), "Remarks");  // "re" must end in ":"
  EXPECT_EQ(base_subject(""), "");
  EXPECT_EQ(base_subject(std::string(100000, '[')), std::string(100000, '['));
}

TEST(ImapSort, SentTime) {
  EXPECT_EQ(parse_sent_time("Thu, 1 Jan 2026 11:00:00 +0100"), 1767261600);
  EXPECT_EQ(parse_sent_time("1 Jan 2026 10:00 GMT"), 1767261600);
  EXPECT_EQ(parse_sent_time("Thu, 01 Jan 2026 05:00:00 EST"), 1767261600);
  EXPECT_EQ(parse_sent_time("Thu, 1 Jan 26 10:00:00 +0000 (UTC)"), 1767261600);
  EXPECT_FALSE(parse_sent_time("yesterday"));
  EXPECT_FALSE(parse_sent_time("1 Jan 2026 25:00:00 +0000"));
}

SortMessage message(std::uint32_t seq, std::string subject, std::string date, std::string id,
                    std::string references = "") {
  SortMessage m;
  m.seq = m.uid = seq;
  m.subject = std::move(subject);
  m.date = std::move(date);
  m.message_id = std::move(id);
  if (!references.empty()) m.references = std::move(references);
  return m;
}

TEST(ImapThread, References) {
  std::vector<SortMessage> corpus{
      message(1, "script", "Mon, 7 Dec 2026 10:00:00 +0000", ""),
      message(2, "Re: dinner", "Fri, 2 Jan 2026 10:00:00 +0000", "<b@x>"),
      message(3, "dinner", "Thu, 1 Jan 2026 10:00:00 +0000", "<a@x>"),
      message(4, "[club] Fwd: dinner", "3 Jan 2026 10:00 GMT", "<c@x>", "<a@x>\r\n <b@x>"),
      message(5, "Lunch (fwd)", "1 Jan 2026 04:00:00 EST", "<d@x>"),
      message(6, "lunch", "5 Jan 2026 10:00:00 +0000", "<e@x>"),
      message(7, "orphan reply", "4 Jan 2026 10:00:00 +0000", "<f@x>", "<missing@x>"),
      message(8, "Re: orphan reply", "6 Jan 2026 10:00:00 +0000", "<g@x>", "<missing@x>"),
  };
  corpus[1].in_reply_to = "<a@x>";
  EXPECT_EQ(format_threads(thread_messages(corpus, ThreadAlgorithm::references), corpus, false),
            "(3 2 4)((7)(8))(6 5)(1)");
  EXPECT_EQ(format_threads(thread_messages(corpus, ThreadAlgorithm::ordered_subject), corpus, false),
            "(5 6)(3 (2)(4))(7 8)(1)");
}

// What SORT and THREAD hold of a stranger's header: the first mailbox of each address field,
// 4 KiB of the subject, the last references; orders and threads come out as from the whole.
TEST(ImapSort, KeepsOnlyWhatItCompares) {
  auto huge = message(1, "Re: " + std::string(1 << 20, 'z'), "1 Jan 2026 10:00 +0000", "<big@x>");
  huge.to.push_back({"", "", "group", ""});  // a group start, then 10,000 members
  for (int i = 0; i < 10'000; ++i) huge.to.push_back({"", "", "user" + std::to_string(i), "example.org"});
  std::string references;
  for (int i = 0; i < 20'000; ++i) references += "<r" + std::to_string(i) + "@x> ";
  huge.references = references + "<parent@x>";
  auto small = message(2, "zz", "1 Jan 2026 11:00 +0000", "<small@x>");
  small.to.push_back({"", "", "user0", "example.org"});
  auto parent = message(3, "parent", "1 Jan 2026 09:00 +0000", "<parent@x>");
  std::vector<SortMessage> whole{huge, small, parent};
  for (auto& m : std::vector<SortMessage*>{&huge, &small, &parent}) trim_for_sorting(*m);
  EXPECT_EQ(huge.to.size(), 1u);
  EXPECT_EQ(huge.to[0].mailbox, "user0");
  EXPECT_EQ(huge.subject->size(), kMaxSortText);
  EXPECT_LE(huge.references->size(), 4 * kMaxSortText);
  EXPECT_EQ(huge.references->front(), '<');
  EXPECT_TRUE(huge.references->ends_with("<parent@x>"));
  std::vector<SortMessage> trimmed{huge, small, parent};
  for (auto key : {SortCriterion::Key::subject, SortCriterion::Key::to, SortCriterion::Key::date}) {
    std::vector<SortCriterion> criteria{{key, false}};
    EXPECT_EQ(sort_order(trimmed, criteria), sort_order(whole, criteria));
  }
  EXPECT_EQ(format_threads(thread_messages(trimmed, ThreadAlgorithm::references), trimmed, false),
            format_threads(thread_messages(whole, ThreadAlgorithm::references), whole, false));
}

TEST(ImapThread, LoopsAndDuplicatesAreHarmless) {
  // Each names the other as its parent; a third repeats the first's Message-ID.
  std::vector<SortMessage> corpus{
      message(1, "a", "1 Jan 2026 10:00 +0000", "<x@y>", "<z@y>"),
      message(2, "b", "2 Jan 2026 10:00 +0000", "<z@y>", "<x@y>"),
      message(3, "c", "3 Jan 2026 10:00 +0000", "<x@y>"),
  };
  auto threads = format_threads(thread_messages(corpus, ThreadAlgorithm::references), corpus, false);
  for (char n : {'1', '2', '3'}) EXPECT_EQ(std::count(threads.begin(), threads.end(), n), 1) << threads;
}

// Hostile headers: a chain of 20,000 replies (each message's parent is the one before) and
// messages naming 5,000 references each. Threading stays within its bounds (depth, references
// followed, loop walk) and every message is in the answer once.
TEST(ImapThread, DeepChainsAndLongReferenceListsAreBounded) {
  std::vector<SortMessage> corpus;
  for (std::uint32_t i = 1; i <= 20000; ++i)
    corpus.push_back(message(i, "chain", "1 Jan 2026 10:00 +0000", fmt::format("<{}@chain>", i),
                             i > 1 ? fmt::format("<{}@chain>", i - 1) : ""));
  std::string many;
  for (int r = 0; r < 5000; ++r) many += fmt::format("<r{}@refs> ", r);
  for (std::uint32_t i = 20001; i <= 20200; ++i)
    corpus.push_back(message(i, "refs", "2 Jan 2026 10:00 +0000", fmt::format("<{}@refs>", i), many));
  auto threads = thread_messages(corpus, ThreadAlgorithm::references);
  std::vector<int> seen(corpus.size() + 1, 0);
  std::size_t deepest = 0;
  std::vector<std::pair<const ThreadNode*, std::size_t>> pending;
  for (const auto& t : threads) pending.emplace_back(&t, 1);
  while (!pending.empty()) {
    auto [n, depth] = pending.back();
    pending.pop_back();
    deepest = std::max(deepest, depth);
    if (n->message) ++seen[corpus[*n->message].seq];
    for (const auto& c : n->children) pending.emplace_back(&c, depth + 1);
  }
  EXPECT_LE(deepest, 201u);
  EXPECT_EQ(std::count(seen.begin() + 1, seen.end(), 1), static_cast<long>(corpus.size()));
  EXPECT_FALSE(format_threads(threads, corpus, true).empty());
}

// Many subjects each shared by two replies: each pair is gathered under a placeholder of its
// own (RFC 5256 §4 step 6, case iv), 20,000 times, without a search of the root list each time.
TEST(ImapThread, ManySubjectsOfRepliesAreGatheredEach) {
  std::vector<SortMessage> corpus;
  for (std::uint32_t i = 1; i <= 40000; ++i)
    corpus.push_back(
        message(i, fmt::format("Re: subject {}", (i + 1) / 2), "1 Jan 2026 10:00 +0000", fmt::format("<{}@pairs>", i)));
  auto threads = thread_messages(corpus, ThreadAlgorithm::references);
  ASSERT_EQ(threads.size(), 20000u);
  for (const auto& t : threads) {
    EXPECT_FALSE(t.message);
    EXPECT_EQ(t.children.size(), 2u);
  }
  EXPECT_TRUE(format_threads(threads, corpus, false).starts_with("((1)(2))((3)(4))"));
}

}  // namespace
}  // namespace mailstead::imap
