#include <gtest/gtest.h>

#include "pop3d/proto/command.hpp"
#include "pop3d/proto/maildrop.hpp"
#include "pop3d/proto/response.hpp"

namespace mailstead::pop3 {
namespace {

template <typename T>
T as(const Command& c) {
  EXPECT_TRUE(std::holds_alternative<T>(c)) << "variant index " << c.index();
  return std::holds_alternative<T>(c) ? std::get<T>(c) : T{};
}

bool is_error(std::string_view line) {
  return std::holds_alternative<SyntaxError>(parse_command(line));
}

TEST(Pop3Command, KeywordsAreCaseInsensitive) {
  EXPECT_EQ(as<User>(parse_command("user alice@example.test")).name, "alice@example.test");
  as<Stat>(parse_command("StAt"));
  as<Quit>(parse_command("QUIT"));
  as<Capa>(parse_command("capa"));
  as<Stls>(parse_command("STLS"));
  as<Noop>(parse_command("noop"));
  as<Rset>(parse_command("RSET"));
}

TEST(Pop3Command, PassKeepsTheWholeRest) {
  EXPECT_EQ(as<Pass>(parse_command("PASS correct horse  battery ")).password, "correct horse  battery ");
  EXPECT_TRUE(is_error("PASS"));
}

TEST(Pop3Command, MessageNumbers) {
  EXPECT_FALSE(as<List>(parse_command("LIST")).message.has_value());
  EXPECT_EQ(as<List>(parse_command("LIST 7")).message, 7u);
  EXPECT_EQ(as<Uidl>(parse_command("UIDL 4294967295")).message, 4294967295u);
  EXPECT_EQ(as<Retr>(parse_command("RETR  12 ")).message, 12u);  // lenient spacing
  EXPECT_EQ(as<Dele>(parse_command("DELE 1")).message, 1u);
  auto top = as<Top>(parse_command("TOP 3 0"));
  EXPECT_EQ(top.message, 3u);
  EXPECT_EQ(top.lines, 0u);
  EXPECT_EQ(as<Top>(parse_command("TOP 1 18446744073709551615")).lines, 18446744073709551615ull);
  for (auto line : {"RETR", "RETR 0", "RETR -1", "RETR +1", "RETR 1x", "RETR 4294967296", "RETR 99999999999",
                    "LIST 1 2", "TOP 1", "TOP 1 -1", "TOP 1 x", "DELE", "STAT 1", "QUIT now"})
    EXPECT_TRUE(is_error(line)) << line;
}

TEST(Pop3Command, Auth) {
  EXPECT_TRUE(as<Auth>(parse_command("AUTH")).mechanism.empty());
  auto plain = as<Auth>(parse_command("AUTH PLAIN AGFsaWNlAHNlY3JldA=="));
  EXPECT_EQ(plain.mechanism, "PLAIN");
  EXPECT_EQ(plain.initial, "AGFsaWNlAHNlY3JldA==");
  EXPECT_FALSE(as<Auth>(parse_command("AUTH LOGIN")).initial.has_value());
  EXPECT_TRUE(is_error("AUTH PLAIN a b"));
}

TEST(Pop3Command, UnknownAndEmpty) {
  EXPECT_TRUE(is_error(""));
  EXPECT_TRUE(is_error(" STAT"));
  EXPECT_TRUE(is_error("APOP alice 0123456789abcdef"));  // not offered
  EXPECT_TRUE(is_error("RETRIEVE 1"));
  EXPECT_TRUE(is_error(std::string(5000, 'A')));
}

Maildrop three() {
  return Maildrop(77, {{10, 100, false, false}, {11, 200, false, false}, {15, 300, false, false}});
}

TEST(Pop3Maildrop, NumbersAndTotals) {
  auto drop = three();
  EXPECT_EQ(drop.count(), 3u);
  EXPECT_EQ(drop.live_messages(), 3u);
  EXPECT_EQ(drop.live_octets(), 600u);
  EXPECT_EQ(drop.lookup(0), Lookup::no_such_message);
  EXPECT_EQ(drop.lookup(4), Lookup::no_such_message);
  EXPECT_EQ(drop.entry(3).uid, 15u);
  EXPECT_EQ(drop.unique_id(1), "0000000A0000004D");
}

TEST(Pop3Maildrop, DeleteResetAndWhatUpdateApplies) {
  auto drop = three();
  EXPECT_EQ(drop.mark_deleted(2), Lookup::ok);
  EXPECT_EQ(drop.mark_deleted(2), Lookup::deleted);
  EXPECT_EQ(drop.lookup(2), Lookup::deleted);
  EXPECT_EQ(drop.live_messages(), 2u);
  EXPECT_EQ(drop.live_octets(), 400u);
  EXPECT_EQ(drop.deleted_uids(), (std::vector<std::uint32_t>{11}));
  drop.reset();
  EXPECT_EQ(drop.live_octets(), 600u);
  EXPECT_TRUE(drop.deleted_uids().empty());
  drop.mark_retrieved(1);
  drop.mark_retrieved(3);
  drop.mark_deleted(3);
  EXPECT_EQ(drop.retrieved_uids(), (std::vector<std::uint32_t>{10}));  // deleted ones need no \Seen
  EXPECT_EQ(drop.deleted_uids(), (std::vector<std::uint32_t>{15}));
}

TEST(Pop3States, EachStateAcceptsItsCommands) {
  const auto auth = State::authorization;
  const auto trans = State::transaction;
  for (auto line : {"USER a", "PASS b", "AUTH PLAIN", "AUTH", "STLS"}) {
    EXPECT_TRUE(allowed(auth, parse_command(line))) << line;
    EXPECT_FALSE(allowed(trans, parse_command(line))) << line;
  }
  for (auto line : {"STAT", "LIST", "LIST 1", "UIDL", "RETR 1", "TOP 1 0", "DELE 1", "NOOP", "RSET"}) {
    EXPECT_FALSE(allowed(auth, parse_command(line))) << line;
    EXPECT_TRUE(allowed(trans, parse_command(line))) << line;
  }
  for (auto line : {"CAPA", "QUIT"}) {
    EXPECT_TRUE(allowed(auth, parse_command(line))) << line;
    EXPECT_TRUE(allowed(trans, parse_command(line))) << line;
  }
}

TEST(Pop3Table, EveryNameParsesToItsOwnCommand) {
  // Names in any case; each row's parser yields the row's own type, whose name is the row's.
  for (std::string_view line : {"user a", "PASS b", "Auth", "STAT", "list", "UIDL", "RETR 1", "TOP 1 0", "DELE 1",
                                "NOOP", "RSET", "QUIT", "CAPA", "STLS"}) {
    auto command = parse_command(line);
    ASSERT_FALSE(std::holds_alternative<SyntaxError>(command)) << line;
    auto name = std::string(line.substr(0, line.find(' ')));
    for (auto& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    EXPECT_EQ(command_name(command), name);
  }
  EXPECT_EQ(command_name(parse_command("FROB")), "");
  EXPECT_TRUE(is_error("APOP alice 0123"));  // not offered: no row
}

TEST(Pop3Response, StatusLines) {
  EXPECT_EQ(ok("2 320"), "+OK 2 320\r\n");
  EXPECT_EQ(ok(""), "+OK\r\n");
  EXPECT_EQ(err("maildrop busy", Code::in_use), "-ERR [IN-USE] maildrop busy\r\n");
  EXPECT_EQ(err("no such message"), "-ERR no such message\r\n");
}

TEST(Pop3Response, MessagesAreDotStuffedAndTerminated) {
  std::string out;
  append_message(out, ".hidden\r\nplain\r\n..two\r\n.\r\n");
  EXPECT_EQ(out, "..hidden\r\nplain\r\n...two\r\n..\r\n.\r\n");
  out.clear();
  append_message(out, "no final line end");
  EXPECT_EQ(out, "no final line end\r\n.\r\n");
  out.clear();
  append_message(out, "a\r\n");
  EXPECT_EQ(out, "a\r\n.\r\n");
}

TEST(Pop3Response, Top) {
  const std::string m = "Subject: x\r\nFrom: a@b\r\n\r\n.one\r\ntwo\r\nthree\r\n";
  std::string out;
  append_top(out, m, 0);
  EXPECT_EQ(out, "Subject: x\r\nFrom: a@b\r\n\r\n.\r\n");
  out.clear();
  append_top(out, m, 2);
  EXPECT_EQ(out, "Subject: x\r\nFrom: a@b\r\n\r\n..one\r\ntwo\r\n.\r\n");
  out.clear();
  append_top(out, m, 100);
  EXPECT_EQ(out, "Subject: x\r\nFrom: a@b\r\n\r\n..one\r\ntwo\r\nthree\r\n.\r\n");
  out.clear();
  append_top(out, "Subject: only a header\r\n", 5);
  EXPECT_EQ(out, "Subject: only a header\r\n\r\n.\r\n");
  out.clear();
  append_top(out, "\r\nbody first\r\nsecond\r\n", 1);
  EXPECT_EQ(out, "\r\nbody first\r\n.\r\n");
}

}  // namespace
}  // namespace mailstead::pop3
