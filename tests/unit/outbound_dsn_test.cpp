#include <gtest/gtest.h>

#include "common/mime/mime.hpp"
#include "smtpd/outbound/dsn.hpp"

namespace mailstead::outbound {
namespace {

const std::string kOriginal =
    "From: alice@example.test\r\nTo: bob@example.org\r\nSubject: lunch?\r\n\r\nSecret body text\r\n";

DsnInput input(bool full) {
  DsnInput in;
  in.reporting_mta = "mail.example.test";
  in.to = "alice@example.test";
  in.envid = "QQ314159";
  in.arrival = 1795000000;
  in.now = 1795000600;
  in.return_full = full;
  in.original = kOriginal;
  in.unique = "abc123";
  in.recipients.push_back({"bob@example.org", "rfc822;Bob@Example.org", DsnAction::failed, "5.1.1", "mx.example.org",
                           "550 5.1.1 <bob@example.org>: no such\r\nuser", 1795000590});
  return in;
}

std::string_view text_of(std::string_view message, const mime::Span& span) {
  return message.substr(span.offset, span.length);
}

TEST(OutboundDsn, IsAMultipartReportThatOurParserReads) {
  auto dsn = build_dsn(input(false));
  auto part = mime::parse_message(dsn);
  EXPECT_EQ(part.type, "multipart");
  EXPECT_EQ(part.subtype, "report");
  ASSERT_EQ(part.children.size(), 3u);
  EXPECT_EQ(part.children[0].subtype, "plain");
  EXPECT_EQ(part.children[1].type + "/" + part.children[1].subtype, "message/delivery-status");
  EXPECT_EQ(part.children[2].type + "/" + part.children[2].subtype, "text/rfc822-headers");
  auto status = text_of(dsn, part.children[1].body);
  EXPECT_NE(status.find("Reporting-MTA: dns; mail.example.test\r\n"), std::string::npos);
  EXPECT_NE(status.find("Original-Envelope-Id: QQ314159\r\n"), std::string::npos);
  EXPECT_NE(status.find("Final-Recipient: rfc822; bob@example.org\r\n"), std::string::npos);
  EXPECT_NE(status.find("Original-Recipient: rfc822; Bob@Example.org\r\n"), std::string::npos);
  EXPECT_NE(status.find("Action: failed\r\nStatus: 5.1.1\r\n"), std::string::npos);
  EXPECT_NE(status.find("Diagnostic-Code: smtp; 550 5.1.1 <bob@example.org>: no such  user\r\n"), std::string::npos);
  auto headers = text_of(dsn, part.children[2].body);
  EXPECT_NE(headers.find("Subject: lunch?"), std::string::npos);
  EXPECT_EQ(dsn.find("Secret body text"), std::string::npos);  // RET=HDRS: no body
  EXPECT_NE(dsn.find("Auto-Submitted: auto-replied\r\n"), std::string::npos);
  EXPECT_NE(dsn.find("From: Mail Delivery System <MAILER-DAEMON@mail.example.test>\r\n"), std::string::npos);
  EXPECT_TRUE(dsn.ends_with("--=_mailstead_dsn_abc123--\r\n"));
}

TEST(OutboundDsn, FullReturnAndDelayNotice) {
  auto full = build_dsn(input(true));
  auto part = mime::parse_message(full);
  ASSERT_EQ(part.children.size(), 3u);
  EXPECT_TRUE(part.children[2].is_message());
  EXPECT_NE(full.find("Secret body text"), std::string::npos);

  auto in = input(false);
  in.recipients[0].action = DsnAction::delayed;
  in.recipients[0].status = "4.4.1";
  in.retry_until = 1795432000;
  auto delayed = build_dsn(in);
  EXPECT_NE(delayed.find("Subject: Delayed Mail (still being retried)"), std::string::npos);
  EXPECT_NE(delayed.find("Action: delayed\r\nStatus: 4.4.1\r\n"), std::string::npos);
  EXPECT_NE(delayed.find("Will-Retry-Until: "), std::string::npos);
}

TEST(OutboundDsn, StatusCodes) {
  EXPECT_EQ(dsn_status(550, "5.1.1", true), "5.1.1");
  EXPECT_EQ(dsn_status(450, "4.2.0", true), "5.2.0");  // gave up after temporary failures
  EXPECT_EQ(dsn_status(450, "4.2.0", false), "4.2.0");
  EXPECT_EQ(dsn_status(554, "", true), "5.0.0");
  EXPECT_EQ(dsn_status(0, "", true), "5.4.7");
  EXPECT_EQ(dsn_status(0, "", false), "4.4.7");
}

}  // namespace
}  // namespace mailstead::outbound
