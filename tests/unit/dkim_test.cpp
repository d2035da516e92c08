// DKIM canonicalisation and signing against the published vectors: RFC 6376 §3.4.5 and
// RFC 8463 Appendix A (its keys, its message, and the b= values it prints).
#include <gtest/gtest.h>

#include <sstream>

#include "common/dkim/canon.hpp"
#include "common/dkim/key.hpp"
#include "common/dkim/signer.hpp"
#include "common/sasl/base64.hpp"

namespace mailstead::dkim {
namespace {

std::string b64(std::string_view bytes) {
  return sasl::base64_encode(bytes);
}

std::string canonical(std::string_view body, Canon canon) {
  std::string out;
  canonical_body(body, canon, [&](std::string_view piece) { out += piece; });
  return out;
}

// RFC 8463 Appendix A.1 and A.3: the keys, and the message both signatures cover.
constexpr std::string_view kEd25519Seed = "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=";
constexpr std::string_view kRsaKey =
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIICXQIBAAKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQi\n"
    "Y/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqM\n"
    "KrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB\n"
    "AoGAH0cxOhFZDgzXWhDhnAJDw5s4roOXN4OhjiXa8W7Y3rhX3FJqmJSPuC8N9vQm\n"
    "6SVbaLAE4SG5mLMueHlh4KXffEpuLEiNp9Ss3O4YfLiQpbRqE7Tm5SxKjvvQoZZe\n"
    "zHorimOaChRL2it47iuWxzxSiRMv4c+j70GiWdxXnxe4UoECQQDzJB/0U58W7RZy\n"
    "6enGVj2kWF732CoWFZWzi1FicudrBFoy63QwcowpoCazKtvZGMNlPWnC7x/6o8Gc\n"
    "uSe0ga2xAkEA8C7PipPm1/1fTRQvj1o/dDmZp243044ZNyxjg+/OPN0oWCbXIGxy\n"
    "WvmZbXriOWoSALJTjExEgraHEgnXssuk7QJBALl5ICsYMu6hMxO73gnfNayNgPxd\n"
    "WFV6Z7ULnKyV7HSVYF0hgYOHjeYe9gaMtiJYoo0zGN+L3AAtNP9huqkWlzECQE1a\n"
    "licIeVlo1e+qJ6Mgqr0Q7Aa7falZ448ccbSFYEPD6oFxiOl9Y9se9iYHZKKfIcst\n"
    "o7DUw1/hz2Ck4N5JrgUCQQCyKveNvjzkkd8HjYs0SwM0fPjK16//5qDZ2UiDGnOe\n"
    "uEzxBDAr518Z8VFbR41in3W4Y3yCDgQlLlcETrS+zYcL\n"
    "-----END RSA PRIVATE KEY-----\n";
constexpr std::string_view kHeader =
    "From: Joe SixPack <joe@football.example.com>\r\n"
    "To: Suzie Q <suzie@shopping.example.net>\r\n"
    "Subject: Is dinner ready?\r\n"
    "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
    "Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n"
    "\r\n";
constexpr std::string_view kBody = "Hi.\r\n\r\nWe lost the game.  Are you hungry yet?\r\n\r\nJoe.\r\n";

// The two DKIM-Signature fields of RFC 8463 A.3, as printed.
constexpr std::string_view kEd25519Field =
    "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n"
    " d=football.example.com; i=@football.example.com;\r\n"
    " q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n"
    " subject : date : message-id : from : subject : date;\r\n"
    " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
    " b=/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus\r\n"
    " Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==";
constexpr std::string_view kRsaField =
    "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\r\n"
    " d=football.example.com; i=@football.example.com;\r\n"
    " q=dns/txt; s=test; t=1528637909; h=from : to : subject :\r\n"
    " date : message-id : from : subject : date;\r\n"
    " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
    " b=F45dVWDfMbQDGHJFlXUNB2HKfbCeLRyhDXgFpEL8GwpsRe0IeIixNTe3\r\n"
    " DhCVlUrSjV4BwcVcOF6+FF3Zo9Rpo1tFOeS9mPYQTnGdaSGsgeefOsk2Jz\r\n"
    " dA+L10TeYt9BgDfQNZtKdN1WO//KgIqXP7OdEFE4LjFYNcUxZQ4FADY+8=";
const std::vector<std::string> kRfcNames = {"from", "to", "subject", "date", "message-id", "from", "subject", "date"};

std::string b_value(std::string_view field) {
  auto b = field.rfind("b=");
  std::string out;
  for (char c : field.substr(b + 2))
    if (c != ' ' && c != '\r' && c != '\n' && c != '\t') out += c;
  return out;
}

TEST(DkimCanon, Rfc6376Examples) {
  // §3.4.5
  auto fields = split_fields("A: X\r\nB : Y\t\r\n\tZ  \r\n\r\n");
  ASSERT_EQ(fields.size(), 2u);
  EXPECT_EQ(canonical_field(fields[0], Canon::relaxed), "a:X\r\n");
  EXPECT_EQ(canonical_field(fields[1], Canon::relaxed), "b:Y Z\r\n");
  EXPECT_EQ(canonical_field(fields[0], Canon::simple), "A: X\r\n");
  EXPECT_EQ(canonical_field(fields[1], Canon::simple), "B : Y\t\r\n\tZ  \r\n");
  EXPECT_EQ(canonical(" C \r\nD \t E\r\n\r\n\r\n", Canon::relaxed), " C\r\nD E\r\n");
  EXPECT_EQ(canonical(" C \r\nD \t E\r\n\r\n\r\n", Canon::simple), " C \r\nD \t E\r\n");
}

TEST(DkimCanon, EmptyBodiesAndMissingFinalCrlf) {
  // §3.4.3: an empty body is CRLF when simple; §3.4.4: nothing when relaxed.
  EXPECT_EQ(b64(body_hash("", Canon::simple)), "frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=");
  EXPECT_EQ(b64(body_hash("", Canon::relaxed)), "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
  EXPECT_EQ(canonical("\r\n\r\n", Canon::simple), "\r\n");
  EXPECT_EQ(canonical(" \t\r\n", Canon::relaxed), "");
  EXPECT_EQ(canonical(" \t\r\n", Canon::simple), " \t\r\n");  // not empty: whitespace is content
  EXPECT_EQ(canonical("last line", Canon::relaxed), "last line\r\n");
  EXPECT_EQ(canonical("a\r\n\r\nb", Canon::simple), "a\r\n\r\nb\r\n");
}

TEST(DkimCanon, LengthLimitCutsTheCanonicalBody) {
  std::string out;
  auto total = canonical_body(
      "abc  def\r\nghi\r\n", Canon::relaxed, [&](std::string_view p) { out += p; }, 5);
  EXPECT_EQ(out, "abc d");
  EXPECT_EQ(total, std::string_view("abc def\r\nghi\r\n").size());
}

TEST(DkimCanon, RepeatedNamesAreTakenFromTheBottomAndMissingOnesAreNothing) {
  auto fields = split_fields("Received: 1\r\nX: first\r\nSubject: s\r\nx: second\r\n\r\n");
  auto picked = select_fields(fields, {"x", "X", "x", "subject"});
  ASSERT_EQ(picked.size(), 4u);
  EXPECT_EQ(picked[0]->raw, "x: second");
  EXPECT_EQ(picked[1]->raw, "X: first");
  EXPECT_EQ(picked[2], nullptr);  // oversigned: no third X
  EXPECT_EQ(picked[3]->raw, "Subject: s");
}

TEST(DkimSign, Rfc8463BodyHash) {
  EXPECT_EQ(b64(body_hash(kBody, Canon::relaxed)), "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=");
}

// The header hash and both signature algorithms, byte for byte: the RFC's own fields with b=
// emptied are signed with the RFC's keys and must give the b= values it prints.
TEST(DkimSign, Rfc8463SignaturesAreReproduced) {
  auto fields = split_fields(kHeader);
  auto seed = sasl::base64_decode(kEd25519Seed);
  ASSERT_TRUE(seed);
  auto ed = PrivateKey::from_ed25519_seed(*seed);
  ASSERT_TRUE(ed);
  EXPECT_EQ(ed->public_key_base64(), "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
  auto data = signed_data(fields, kRfcNames, {"DKIM-Signature", kEd25519Field}, Canon::relaxed);
  EXPECT_EQ(b64(ed->sign(data)), b_value(kEd25519Field));

  auto rsa = PrivateKey::from_pem(kRsaKey);
  ASSERT_TRUE(rsa);
  EXPECT_EQ(rsa->algorithm(), Algorithm::rsa_sha256);
  EXPECT_EQ(rsa->bits(), 1024u);
  data = signed_data(fields, kRfcNames, {"DKIM-Signature", kRsaField}, Canon::relaxed);
  EXPECT_EQ(b64(rsa->sign(data)), b_value(kRsaField));
  auto key = sasl::base64_decode(rsa->public_key_base64());
  ASSERT_TRUE(key);
  EXPECT_TRUE(verify_signature(Algorithm::rsa_sha256, *key, data, rsa->sign(data)));
  // RFC 8301 §3.2: 1024 bits is the least a verifier accepts.
  EXPECT_FALSE(verify_signature(Algorithm::rsa_sha256, *key, data, rsa->sign(data), 2048));
}

TEST(DkimSign, WithoutBValueKeepsEverythingElse) {
  EXPECT_EQ(without_b_value("DKIM-Signature: a=x; b=abc\r\n def; bh=zz"), "DKIM-Signature: a=x; b=; bh=zz");
  EXPECT_EQ(without_b_value("DKIM-Signature: v=1; bh=q; b = abc"), "DKIM-Signature: v=1; bh=q; b =");
}

// A message signed here verifies: the field is parsed back, its data recomputed, and the
// signature checked with the public key, for both algorithms; every line fits 78 characters.
TEST(DkimSign, SignedMessagesVerifyWithBothAlgorithms) {
  std::string message = std::string(kHeader) + std::string(kBody);
  SignOptions options;
  options.headers = {"From", "To", "Subject", "Date", "Message-ID", "Reply-To"};
  options.oversign = {"from", "subject"};
  options.now = 1800000000;
  options.expire_after = 86400;
  for (auto algorithm : {Algorithm::rsa_sha256, Algorithm::ed25519_sha256}) {
    Signer signer{"football.example.com", "sel-1", PrivateKey::generate(algorithm, 2048)};
    auto field = sign_message(message, signer, options);
    ASSERT_TRUE(field.ends_with("\r\n"));
    std::istringstream lines(field);
    for (std::string line; std::getline(lines, line);) EXPECT_LE(line.size(), 79u) << line;
    std::string unfolded;  // folding is CRLF TAB where a space or nothing was
    for (std::size_t i = 0; i < field.size(); ++i) {
      if (field.compare(i, 3, "\r\n\t") == 0) {
        i += 2;
        continue;
      }
      unfolded += field[i];
    }
    EXPECT_NE(unfolded.find("h=from:from:subject:subject:to:date:message-id;"), std::string::npos) << field;
    EXPECT_NE(unfolded.find("t=1800000000;"), std::string::npos) << field;
    EXPECT_NE(unfolded.find("x=1800086400;"), std::string::npos) << field;
    EXPECT_NE(unfolded.find("bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;"), std::string::npos) << field;
    auto raw = std::string_view(field).substr(0, field.size() - 2);
    auto data = signed_data(split_fields(kHeader), signed_names(split_fields(kHeader), options),
                            {"DKIM-Signature", raw}, Canon::relaxed);
    auto signature = sasl::base64_decode(b_value(raw));
    ASSERT_TRUE(signature);
    auto key = sasl::base64_decode(signer.key.public_key_base64());
    ASSERT_TRUE(key);
    EXPECT_TRUE(verify_signature(algorithm, *key, data, *signature));
    // A changed header no longer verifies.
    std::string forged(kHeader);
    forged.replace(forged.find("dinner"), 6, "lunch!");
    auto forged_data = signed_data(split_fields(forged), signed_names(split_fields(forged), options),
                                   {"DKIM-Signature", raw}, Canon::relaxed);
    EXPECT_FALSE(verify_signature(algorithm, *key, forged_data, *signature));
  }
}

TEST(DkimKey, PemRoundTripAndDnsRecord) {
  auto key = PrivateKey::generate(Algorithm::ed25519_sha256);
  auto again = PrivateKey::from_pem(key.pem());
  ASSERT_TRUE(again);
  EXPECT_EQ(again->public_key_base64(), key.public_key_base64());
  EXPECT_EQ(key.dns_record(), "v=DKIM1; k=ed25519; p=" + key.public_key_base64());
  EXPECT_EQ(PrivateKey::generate(Algorithm::rsa_sha256, 2048).bits(), 2048u);
  EXPECT_FALSE(PrivateKey::from_pem("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n"));
}

}  // namespace
}  // namespace mailstead::dkim
