#include "admin/import_sources.hpp"

#include <gtest/gtest.h>

#include <sstream>

#include "storage/messages.hpp"

namespace mailstead::admin {
namespace {

TEST(Maildir, FlagsKeywordsAndUniqueNames) {
  std::map<char, std::string> letters{{'a', "$Important"}, {'b', "Work"}};
  auto f = parse_maildir_flags("1700000000.M1P2.host,S=123:2,DFPRSTab", letters);
  EXPECT_EQ(f.flags, storage::kDraft | storage::kFlagged | storage::kAnswered | storage::kSeen | storage::kDeleted);
  EXPECT_EQ(f.keywords, (std::vector<std::string>{"$Forwarded", "$Important", "Work"}));
  EXPECT_EQ(parse_maildir_flags("1700000000.M1.host!2,S", {}).flags, storage::kSeen);
  EXPECT_EQ(parse_maildir_flags("1700000000.M1.host", {}).flags, 0u);
  EXPECT_EQ(maildir_unique_name("1700000000.M1.host:2,S"), "1700000000.M1.host");
  EXPECT_EQ(maildir_unique_name("1700000000.M1.host"), "1700000000.M1.host");
  std::istringstream keywords("0 $Important\n1 Work\nbad line\n30 TooFar\n2 not valid\n");
  EXPECT_EQ(parse_dovecot_keywords(keywords), letters);
}

TEST(Maildir, FolderNames) {
  EXPECT_EQ(maildir_folder_mailbox(".Work.Projects", '/'), "Work/Projects");
  EXPECT_EQ(maildir_folder_mailbox(".Work.Projects", '.'), "Work.Projects");
  EXPECT_EQ(maildir_folder_mailbox(".Entw&APw-rfe", '/'), "Entw\xc3\xbcrfe");
  EXPECT_FALSE(maildir_folder_mailbox("cur", '/'));
  EXPECT_FALSE(maildir_folder_mailbox("..", '/'));
  EXPECT_FALSE(maildir_folder_mailbox(".bad&mutf7", '/'));
}

TEST(Mbox, SplitsUnquotesAndReadsFlags) {
  std::istringstream in(
      "\nFrom a@x Mon Nov 24 09:54:29 2026\nStatus: RO\nX-Status: AF\nSubject: one\n\n>From quoted\n>>From twice\n\n"
      "From b@y Tue Nov 25 10:00:00 2026\nSubject: two\n\nlast line");
  MboxReader reader(in);
  MboxReader::Message m;
  ASSERT_TRUE(reader.next(m));
  EXPECT_EQ(m.bytes, "Status: RO\r\nX-Status: AF\r\nSubject: one\r\n\r\nFrom quoted\r\n>From twice\r\n");
  EXPECT_EQ(m.flags, storage::kSeen | storage::kAnswered | storage::kFlagged);
  EXPECT_EQ(*parse_asctime("Mon Nov 24 09:54:29 2026"), m.date);
  EXPECT_EQ(m.offset, 1u);
  ASSERT_TRUE(reader.next(m));
  EXPECT_EQ(m.bytes, "Subject: two\r\n\r\nlast line\r\n");
  EXPECT_FALSE(reader.next(m));
}

TEST(Mbox, RefusesWhatIsNotAnMbox) {
  std::istringstream in("Subject: not an mbox\n");
  MboxReader reader(in);
  MboxReader::Message m;
  EXPECT_THROW(reader.next(m), std::runtime_error);
  std::istringstream empty("");
  MboxReader none(empty);
  EXPECT_FALSE(none.next(m));
}

}  // namespace
}  // namespace mailstead::admin
