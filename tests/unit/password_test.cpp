#include "common/auth/password.hpp"

#include <gtest/gtest.h>

namespace mailstead::auth {
namespace {

// Fixed hashes of "correct horse": SHA-512-crypt made by `openssl passwd -6 -salt saltsalt`,
// bcrypt and yescrypt made once with libxcrypt and kept here so a change of library or
// wrapper that breaks existing users' hashes shows up.
constexpr std::string_view kSha512 =
    "$6$saltsalt$hRM5XZ86KXEw9UOmjigeVqFgULtFB2sgpC9lXQDfMib3Zgw7mEiUvBJI2EplzfAqxL5Vvwp2scFtv/uamSo5z0";
constexpr std::string_view kBcrypt = "$2b$05$abcdefghijklmnopqrstuuHNbAKRhpaujgo33bRWs.NLUTJO3lOy2";
constexpr std::string_view kYescrypt = "$y$j9T$abcdefghijklmnopqrstu1$HZ8mcCBaXDWmMfDHc6srTC.EUNg5x04Ly/TYQCr34R.";

TEST(Password, VerifiesEachSupportedMethod) {
  for (auto hash : {kSha512, kBcrypt, kYescrypt}) {
    EXPECT_EQ(verify_password("correct horse", hash), Verdict::match) << hash;
    EXPECT_EQ(verify_password("correct horse ", hash), Verdict::mismatch) << hash;
    EXPECT_EQ(verify_password("Correct horse", hash), Verdict::mismatch) << hash;
    EXPECT_EQ(verify_password("", hash), Verdict::mismatch) << hash;
  }
}

TEST(Password, PasswordWithNulNeverMatches) {
  EXPECT_EQ(verify_password(std::string_view("correct horse\0x", 15), kSha512), Verdict::mismatch);
}

TEST(Password, MalformedHashes) {
  for (std::string_view bad :
       {"", "*", "!", "$9$nosuchmethod$abc", "$y$", "$2b$99$abcdefghijklmnopqrstuu", "not a hash at all"}) {
    EXPECT_EQ(verify_password("correct horse", bad), Verdict::malformed_hash) << bad;
  }
}

TEST(Password, HashWithTrailingGarbageDoesNotMatch) {
  std::string tampered(kSha512);
  tampered += "x";
  EXPECT_NE(verify_password("correct horse", tampered), Verdict::match);
}

TEST(Password, NewHashesAreYescryptWithFreshSalt) {
  auto a = hash_password("correct horse");
  auto b = hash_password("correct horse");
  EXPECT_TRUE(a.starts_with("$y$")) << a;
  EXPECT_NE(a, b);
  EXPECT_EQ(verify_password("correct horse", a), Verdict::match);
  EXPECT_EQ(verify_password("wrong", a), Verdict::mismatch);
}

TEST(Password, RefusesToHashNul) {
  EXPECT_THROW(hash_password(std::string_view("a\0b", 3)), std::invalid_argument);
}

}  // namespace
}  // namespace mailstead::auth
