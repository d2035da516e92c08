// RecentClaims: each UID is handed to one session of the process, whatever the order in which
// sessions and the stored floor advance.
#include <gtest/gtest.h>

#include "imapd/recent_claims.hpp"

namespace mailstead::imap {
namespace {

TEST(RecentClaims, EachUidGoesToTheFirstClaimantOnly) {
  RecentClaims claims;
  EXPECT_EQ(claims.floor(7, 1), 1u);
  // A SELECT took 1..4 through the store (stored floor was 1, UIDNEXT 5).
  EXPECT_EQ(claims.claim(7, 1, 5), 1u);
  // Message 5 arrives; the first session to see it gets it, the second does not.
  EXPECT_EQ(claims.claim(7, 5, 6), 5u);
  EXPECT_EQ(claims.claim(7, 5, 6), 6u);
  EXPECT_EQ(claims.floor(7, 5), 6u);
  // An earlier UID learned late is not handed out again.
  EXPECT_EQ(claims.claim(7, 5, 5), 6u);
  // The stored floor overtook memory (another SELECT): the store decides.
  EXPECT_EQ(claims.claim(7, 9, 10), 9u);
  EXPECT_EQ(claims.floor(7, 9), 10u);
  // Other mailboxes are separate.
  EXPECT_EQ(claims.floor(8, 3), 3u);
  EXPECT_EQ(claims.claim(8, 3, 4), 3u);
}

}  // namespace
}  // namespace mailstead::imap
