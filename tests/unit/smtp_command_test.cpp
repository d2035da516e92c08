#include <gtest/gtest.h>

#include "smtpd/proto/command.hpp"
#include "smtpd/proto/reply.hpp"

namespace mailstead::smtp {
namespace {

template <class T>
T as(const Command& c) {
  if (auto* e = std::get_if<SyntaxError>(&c)) throw std::runtime_error("syntax error: " + e->text);
  return std::get<T>(c);
}

SyntaxError error(const Command& c) {
  if (!std::holds_alternative<SyntaxError>(c)) throw std::runtime_error("expected a syntax error");
  return std::get<SyntaxError>(c);
}

TEST(SmtpTable, PhasesFlagsAndOutOfSequenceTexts) {
  auto info = [](std::string_view line) { return *command_info(parse_command(line)); };
  EXPECT_EQ(command_info(parse_command("FROB")), nullptr);  // a syntax error has no row
  EXPECT_TRUE(info("MAIL FROM:<a@b.test>").accepts(Phase::greeted));
  EXPECT_FALSE(info("MAIL FROM:<a@b.test>").accepts(Phase::connected));
  EXPECT_FALSE(info("MAIL FROM:<a@b.test>").accepts(Phase::in_transaction));
  EXPECT_EQ(info("MAIL FROM:<a@b.test>").too_early, "Send EHLO first");
  EXPECT_EQ(info("MAIL FROM:<a@b.test>").too_late, "Nested MAIL command");
  for (auto line : {"RCPT TO:<a@b.test>", "DATA"}) {
    EXPECT_TRUE(info(line).accepts(Phase::in_transaction)) << line;
    EXPECT_FALSE(info(line).accepts(Phase::greeted)) << line;
    EXPECT_EQ(info(line).too_early, "Send MAIL first") << line;
  }
  // BDAT reads its chunk and AUTH checks the port first: their handlers check the phase.
  for (auto line : {"EHLO a", "HELO a", "BDAT 1", "RSET", "NOOP", "QUIT", "VRFY a", "HELP", "STARTTLS", "AUTH PLAIN"})
    for (auto phase : {Phase::connected, Phase::greeted, Phase::in_transaction})
      EXPECT_TRUE(info(line).accepts(phase)) << line;
  for (auto line : {"RSET", "NOOP", "VRFY a", "HELP"}) EXPECT_TRUE(info(line).junk) << line;
  for (auto line : {"EHLO a", "MAIL FROM:<>", "RCPT TO:<a@b.test>", "DATA", "QUIT"})
    EXPECT_FALSE(info(line).junk) << line;
}

TEST(SmtpCommand, VerbsAreCaseInsensitive) {
  EXPECT_EQ(as<Ehlo>(parse_command("ehlo client.example.org")).domain, "client.example.org");
  EXPECT_FALSE(as<Ehlo>(parse_command("HeLo client")).extended);
  EXPECT_EQ(as<Ehlo>(parse_command("EHLO [192.0.2.1]")).domain, "[192.0.2.1]");
  as<Data>(parse_command("data"));
  as<Rset>(parse_command("RSET"));
  as<Quit>(parse_command("quit"));
  as<Noop>(parse_command("NOOP anything"));
  as<StartTls>(parse_command("STARTTLS"));
  as<Help>(parse_command("HELP MAIL"));
  EXPECT_EQ(as<Vrfy>(parse_command("VRFY alice")).argument, "alice");
}

TEST(SmtpCommand, UnknownAndMalformed) {
  EXPECT_EQ(error(parse_command("FROB x")).code, 500);
  EXPECT_EQ(error(parse_command("")).code, 500);
  EXPECT_EQ(error(parse_command("EHLO")).code, 501);
  EXPECT_EQ(error(parse_command("DATA now")).code, 501);
  EXPECT_EQ(error(parse_command("QUIT please")).code, 501);
  EXPECT_EQ(error(parse_command("STARTTLS x")).code, 501);
  EXPECT_EQ(error(parse_command("MAILFROM:<a@b>")).code, 500);
}

TEST(SmtpCommand, MailWithParameters) {
  auto m = as<Mail>(parse_command("MAIL FROM:<alice@example.test> SIZE=1024 BODY=8BITMIME RET=HDRS ENVID=id+2Bx"));
  ASSERT_TRUE(m.sender);
  EXPECT_EQ(m.sender->local, "alice");
  EXPECT_EQ(m.sender->domain, "example.test");
  EXPECT_EQ(m.size, 1024u);
  EXPECT_EQ(m.body, Body::eight_bit_mime);
  EXPECT_EQ(m.ret, Ret::headers);
  EXPECT_EQ(m.envid, "id+x");
  EXPECT_FALSE(as<Mail>(parse_command("MAIL FROM:<>")).sender);          // the null reverse-path
  EXPECT_TRUE(as<Mail>(parse_command("mail from: <a@b.test>")).sender);  // tolerated space
  EXPECT_EQ(as<Mail>(parse_command("MAIL FROM:<a@b.test> AUTH=<>")).sender->local, "a");
}

TEST(SmtpCommand, MailErrors) {
  EXPECT_EQ(error(parse_command("MAIL TO:<a@b>")).code, 501);
  EXPECT_EQ(error(parse_command("MAIL FROM:a@b.test")).enhanced, "5.1.7");
  EXPECT_EQ(error(parse_command("MAIL FROM:<a@b.test")).enhanced, "5.1.7");
  EXPECT_EQ(error(parse_command("MAIL FROM:<a@b.test>SIZE=1")).enhanced, "5.1.7");
  EXPECT_EQ(error(parse_command("MAIL FROM:<a@b.test> SIZE=big")).code, 501);
  EXPECT_EQ(error(parse_command("MAIL FROM:<a@b.test> SIZE=99999999999999999999999")).code, 501);
  EXPECT_EQ(error(parse_command("MAIL FROM:<a@b.test> BODY=9BIT")).code, 501);
  EXPECT_EQ(error(parse_command("MAIL FROM:<a@b.test> XFOO=1")).code, 555);
  EXPECT_EQ(error(parse_command("MAIL FROM:<a@b.test> SMTPUTF8=yes")).code, 501);
  EXPECT_EQ(error(parse_command("MAIL FROM:<a@b.test> ENVID=bad+zz")).code, 501);
  EXPECT_EQ(error(parse_command("MAIL FROM:<j\xc3\xb6rg@b.test>")).code, 553);  // UTF-8 without SMTPUTF8
  EXPECT_TRUE(as<Mail>(parse_command("MAIL FROM:<j\xc3\xb6rg@b.test> SMTPUTF8")).sender->utf8);
  EXPECT_EQ(error(parse_command("MAIL FROM:<\xff@b.test> SMTPUTF8")).enhanced, "5.1.7");
}

TEST(SmtpCommand, RcptWithDsnParameters) {
  auto r = as<Rcpt>(parse_command("RCPT TO:<bob@example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob+40example.test"));
  EXPECT_EQ(r.recipient, (Mailbox{"bob", "example.test", false}));
  EXPECT_EQ(r.notify, kNotifySuccess | kNotifyFailure);
  EXPECT_EQ(r.orcpt, "rfc822;bob@example.test");
  EXPECT_EQ(as<Rcpt>(parse_command("RCPT TO:<Postmaster>")).recipient.local, "postmaster");
  EXPECT_EQ(error(parse_command("RCPT TO:<a@b.test> NOTIFY=NEVER,DELAY")).code, 501);
  EXPECT_EQ(error(parse_command("RCPT TO:<a@b.test> NOTIFY=SOMETIMES")).code, 501);
  EXPECT_EQ(error(parse_command("RCPT TO:<a@b.test> ORCPT=noseparator")).code, 501);
  EXPECT_EQ(error(parse_command("RCPT TO:<>")).code, 501);
  EXPECT_EQ(error(parse_command("RCPT TO:<a@b.test> SIZE=1")).code, 555);
}

// The relay tricks all parse to a mailbox whose domain is what the relay check must look at.
TEST(SmtpCommand, RelayTricksKeepTheirRealDomain) {
  auto route = as<Rcpt>(parse_command("RCPT TO:<@local.test,@other.test:victim@remote.example>")).recipient;
  EXPECT_EQ(route.domain, "remote.example");
  auto percent = as<Rcpt>(parse_command("RCPT TO:<victim%remote.example@local.test>")).recipient;
  EXPECT_EQ(percent.local, "victim%remote.example");
  EXPECT_EQ(percent.domain, "local.test");
  auto quoted = as<Rcpt>(parse_command("RCPT TO:<\"victim@remote.example\"@local.test>")).recipient;
  EXPECT_EQ(quoted.local, "\"victim@remote.example\"");
  EXPECT_EQ(quoted.domain, "local.test");
  auto bang = as<Rcpt>(parse_command("RCPT TO:<remote.example!victim@local.test>")).recipient;
  EXPECT_EQ(bang.domain, "local.test");
  EXPECT_EQ(error(parse_command("RCPT TO:<a@remote.example.>")).code, 501);  // not RFC 5321 syntax
  EXPECT_EQ(error(parse_command("RCPT TO:<a@b@c.test>")).code, 501);
  EXPECT_EQ(error(parse_command("RCPT TO:<@x.test:>")).code, 501);
  EXPECT_EQ(error(parse_command("RCPT TO:<victim@remote.example")).code, 501);
}

TEST(SmtpCommand, Mailboxes) {
  EXPECT_TRUE(parse_mailbox("first.last@sub.example.test"));
  EXPECT_TRUE(parse_mailbox("\"with space\"@example.test"));
  EXPECT_TRUE(parse_mailbox("\"esc\\\"aped\"@example.test"));
  EXPECT_TRUE(parse_mailbox("user@[192.0.2.1]"));
  EXPECT_TRUE(parse_mailbox("user@[IPv6:2001:db8::1]"));
  for (auto bad : {"", "@x.test", "a@", ".a@x.test", "a.@x.test", "a..b@x.test", "a b@x.test", "a@-x.test", "a@x-.test",
                   "a@x..test", "a@[1.2.3.4", "\"open@x.test", "a(b)@x.test", "a@x_y.test"}) {
    EXPECT_FALSE(parse_mailbox(bad)) << bad;
  }
}

TEST(SmtpCommand, BdatAndAuth) {
  auto b = as<Bdat>(parse_command("BDAT 1000 LAST"));
  EXPECT_EQ(b.size, 1000u);
  EXPECT_TRUE(b.last);
  EXPECT_FALSE(as<Bdat>(parse_command("BDAT 0")).last);
  EXPECT_EQ(error(parse_command("BDAT")).code, 501);
  EXPECT_EQ(error(parse_command("BDAT -1")).code, 501);
  EXPECT_EQ(error(parse_command("BDAT 10 FIRST")).code, 501);
  auto a = as<Auth>(parse_command("AUTH PLAIN AGFsaWNlAHB3"));
  EXPECT_EQ(a.mechanism, "PLAIN");
  EXPECT_EQ(a.initial_response, "AGFsaWNlAHB3");
  EXPECT_FALSE(as<Auth>(parse_command("AUTH LOGIN")).initial_response);
  EXPECT_EQ(as<Auth>(parse_command("AUTH PLAIN =")).initial_response, "=");
  EXPECT_EQ(error(parse_command("AUTH")).code, 501);
  EXPECT_EQ(error(parse_command("AUTH PLAIN a b")).code, 501);
}

TEST(SmtpCommand, Xtext) {
  EXPECT_EQ(decode_xtext("plain"), "plain");
  EXPECT_EQ(decode_xtext("a+2Bb+3Dc"), "a+b=c");
  EXPECT_FALSE(decode_xtext("a+2"));
  EXPECT_FALSE(decode_xtext("a+ZZ"));
  EXPECT_FALSE(decode_xtext("a=b"));
  EXPECT_EQ(decode_xtext("a+20b+7E"), "a b~");
  // Found: NUL, CR LF and 8-bit bytes went into generated bounces.
  for (auto bad : {"a+00b", "a+0D+0Ab", "a+FFb", "a+7Fb", "a+1Fb", "caf\xc3\xa9"})
    EXPECT_FALSE(decode_xtext(bad)) << bad;
}

TEST(SmtpReply, SingleAndMultiLine) {
  EXPECT_EQ(reply(250, "2.1.0", "Sender ok").serialize(), "250 2.1.0 Sender ok\r\n");
  EXPECT_EQ(reply(354, "", "End data with <CR><LF>.<CR><LF>").serialize(), "354 End data with <CR><LF>.<CR><LF>\r\n");
  Reply ehlo{250, "", {"mail.example.test", "PIPELINING", "SIZE 1000"}};
  EXPECT_EQ(ehlo.serialize(), "250-mail.example.test\r\n250-PIPELINING\r\n250 SIZE 1000\r\n");
  EXPECT_EQ(reply(550, "5.1.1", "no\r\nsuch").serialize(), "550 5.1.1 no  such\r\n");  // never breaks a line
  EXPECT_TRUE(reply(250, "2.0.0", "").positive());
  EXPECT_TRUE(reply(554, "5.7.1", "").permanent());
}

TEST(SmtpReplyAssembler, ReadsWhatServersSend) {
  ReplyAssembler a;
  EXPECT_EQ(a.add("250-mx.example.org greets you"), ReplyAssembler::Status::more);
  EXPECT_EQ(a.add("250-PIPELINING"), ReplyAssembler::Status::more);
  EXPECT_EQ(a.add("250 STARTTLS"), ReplyAssembler::Status::done);
  auto ehlo = a.take();
  EXPECT_EQ(ehlo.code, 250);
  EXPECT_EQ(ehlo.lines, (std::vector<std::string>{"mx.example.org greets you", "PIPELINING", "STARTTLS"}));
  EXPECT_EQ(a.add("550 5.1.1 <x@example.org>: no such user"), ReplyAssembler::Status::done);
  auto rejected = a.take();
  EXPECT_EQ(rejected.enhanced, "5.1.1");
  EXPECT_EQ(rejected.lines.back(), "<x@example.org>: no such user");
  EXPECT_EQ(a.add("354"), ReplyAssembler::Status::done);  // bare code, as some servers send
  EXPECT_EQ(a.take().code, 354);
  EXPECT_EQ(a.add("421 4.3.2"), ReplyAssembler::Status::done);
  EXPECT_EQ(a.take().enhanced, "4.3.2");
  EXPECT_EQ(a.add("250 2.0.0"), ReplyAssembler::Status::done);
  EXPECT_EQ(a.take().lines.back(), "");
  EXPECT_EQ(a.add("250 2.0 not enhanced"), ReplyAssembler::Status::done);
  EXPECT_EQ(a.take().enhanced, "");
}

TEST(SmtpReplyAssembler, RefusesWhatIsNotAReply) {
  for (auto line : {"", "25", "hello", "2500 x", "250x", "199 early", "600 late", "abc def"}) {
    ReplyAssembler a;
    EXPECT_EQ(a.add(line), ReplyAssembler::Status::malformed) << line;
  }
  ReplyAssembler a;
  EXPECT_EQ(a.add("250-first"), ReplyAssembler::Status::more);
  EXPECT_EQ(a.add("550 other code"), ReplyAssembler::Status::malformed);
}

}  // namespace
}  // namespace mailstead::smtp
