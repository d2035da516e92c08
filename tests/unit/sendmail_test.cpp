// mailstead-sendmail's command line and the message it submits (sendmail/submission.hpp).

#include <gtest/gtest.h>

#include "sendmail/submission.hpp"

using namespace mailstead::sendmail;

namespace {

Options parse(std::vector<std::string_view> args) {
  auto r = parse_options(args);
  if (auto* e = std::get_if<UsageError>(&r)) ADD_FAILURE() << e->text;
  return std::get<Options>(r);
}

std::string usage_error(std::vector<std::string_view> args) {
  auto r = parse_options(args);
  if (auto* e = std::get_if<UsageError>(&r)) return e->text;
  return "";
}

}  // namespace

TEST(SendmailOptions, TheFormsCallersUse) {
  auto cron = parse({"-FCronDaemon", "-i", "-B8BITMIME", "-oem", "root"});  // Debian's cron
  EXPECT_EQ(cron.full_name, "CronDaemon");
  EXPECT_FALSE(cron.dot_ends_input);
  EXPECT_EQ(cron.recipients, std::vector<std::string>{"root"});

  auto php = parse({"-t", "-i"});  // PHP's sendmail_path default
  EXPECT_TRUE(php.recipients_from_headers);
  EXPECT_TRUE(php.recipients.empty());

  auto f = parse({"-f", "alerts@example.com", "-oi", "--", "-odd-name@example.com"});
  EXPECT_EQ(f.sender, "alerts@example.com");
  EXPECT_EQ(f.recipients, std::vector<std::string>{"-odd-name@example.com"});
  EXPECT_EQ(parse({"-falerts@example.com", "a@b"}).sender, "alerts@example.com");
  EXPECT_EQ(parse({"-r", "<>", "a@b"}).sender, "<>");
  EXPECT_EQ(parse({"-N", "never", "-R", "hdrs", "-V", "envid", "a@b"}).recipients, std::vector<std::string>{"a@b"});
  EXPECT_EQ(parse({"-bs"}).mode, Mode::smtp_on_stdio);
  EXPECT_EQ(parse({"-C", "/etc/x.toml", "a@b"}).config, "/etc/x.toml");
  EXPECT_TRUE(parse({"-odi", "-v", "a@b"}).dot_ends_input);
}

TEST(SendmailOptions, RefusesWhatItCannotDo) {
  EXPECT_NE(usage_error({"-bp"}).find("mailstead queue list"), std::string::npos);
  EXPECT_NE(usage_error({"-bi"}), "");
  EXPECT_NE(usage_error({"-q"}), "");
  EXPECT_NE(usage_error({"-Z", "a@b"}).find("unknown option"), std::string::npos);
  EXPECT_NE(usage_error({"-f"}), "");
  EXPECT_NE(usage_error({}).find("no recipients"), std::string::npos);
  EXPECT_NE(usage_error({"-i"}).find("no recipients"), std::string::npos);
}

TEST(SendmailMessage, LineEndsBecomeCrlfAndALoneDotEndsTheInput) {
  Options o = parse({"a@b"});
  auto p = prepare_message("Subject: x\n\nline one\r\nline two\rline three\n.\nafter the end\n", o, "s@h");
  EXPECT_EQ(p.data, "From: s@h\r\nSubject: x\r\n\r\nline one\r\nline two\r\nline three\r\n.\r\n");
  o.dot_ends_input = false;  // -i
  p = prepare_message("Subject: x\n\n.\n..two\n.three", o, "s@h");
  EXPECT_EQ(p.data, "From: s@h\r\nSubject: x\r\n\r\n..\r\n...two\r\n..three\r\n.\r\n");
  EXPECT_FALSE(p.eight_bit);
  EXPECT_TRUE(prepare_message("Subject: caf\xc3\xa9\n\n", o, "s@h").eight_bit);
}

TEST(SendmailMessage, TakesRecipientsFromHeadersAndDropsBcc) {
  Options o = parse({"-t", "cmd@example.com"});
  auto p = prepare_message(
      "From: Me <me@example.com>\n"
      "To: Ann <ann@example.com>, cmd@example.com\n"
      "cc: \"Bob, B.\" <bob@example.com>\n"
      "Bcc: hidden@example.com,\n"
      "  also-hidden@example.com\n"
      "Subject: to: not a recipient\n"
      "\n"
      "To: nor this@example.com\n",
      o, "s@h");
  EXPECT_EQ(p.recipients, (std::vector<std::string>{"cmd@example.com", "ann@example.com", "bob@example.com",
                                                    "hidden@example.com", "also-hidden@example.com"}));
  EXPECT_EQ(p.data.find("hidden"), std::string::npos);
  EXPECT_EQ(p.data.find("From: s@h"), std::string::npos);  // the message has its own From:
  EXPECT_NE(p.data.find("Subject: to: not a recipient\r\n\r\nTo: nor this@example.com\r\n.\r\n"), std::string::npos);

  o = parse({"cmd@example.com"});  // without -t the headers name no one
  EXPECT_EQ(prepare_message("To: ann@example.com\n\nx\n", o, "s@h").recipients,
            std::vector<std::string>{"cmd@example.com"});
}

TEST(SendmailMessage, AFromOfTheSenderWithAQuotedName) {
  Options o = parse({"-F", "Cron \"Daemon\"\r\nX-Evil: 1", "a@b"});
  auto p = prepare_message("Subject: x\n\nbody\n", o, "root@mail.example.com");
  EXPECT_EQ(p.data.substr(0, p.data.find("Subject")),
            "From: \"Cron \\\"Daemon\\\"X-Evil: 1\" <root@mail.example.com>\r\n");
  EXPECT_EQ(prepare_message("Subject: x\n\nbody\n", o, "").data.find("From:"), std::string::npos);  // null sender
}

TEST(SendmailMessage, QualifiesBareNames) {
  EXPECT_EQ(qualify("root", "mail.example.com"), "root@mail.example.com");
  EXPECT_EQ(qualify("<ann@example.com>", "mail.example.com"), "ann@example.com");
  EXPECT_EQ(qualify("", "mail.example.com"), "");
  EXPECT_TRUE(needs_smtputf8("j\xc3\xb6rg@example.com"));
  EXPECT_FALSE(needs_smtputf8("jorg@example.com"));
}
